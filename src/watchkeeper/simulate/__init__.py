"""A seeded simulator of the DPRK-Russia corridor with ground truth (docs/simulation.md).

Modules, one per concern: :mod:`world` (area, ports, coast), :mod:`routes` (sea routes checked against the
coast), :mod:`motion` (vessel kinematics), :mod:`actors` (who does what), :mod:`reporting` (ITU-R M.1371
reporting intervals), :mod:`reception` (terrestrial stations and satellite passes), :mod:`encode` (vectorised
NMEA encoder), :mod:`truth` (ground-truth events), :mod:`scenario` (the whole run and its files), :mod:`cli`.
"""
