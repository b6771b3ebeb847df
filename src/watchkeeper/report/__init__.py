"""Evidence dossiers (HTML + PDF with a manifest), their verification, and exports of tracks and events.

* :mod:`~watchkeeper.report.dossier` collects what a dossier says about one vessel from a store;
* :mod:`~watchkeeper.report.mapplot` and :mod:`~watchkeeper.report.charts` draw the offline SVG figures;
* :mod:`~watchkeeper.report.html` writes the self-contained HTML, :mod:`~watchkeeper.report.pdf` renders it;
* :mod:`~watchkeeper.report.manifest` and :mod:`~watchkeeper.report.verify` give the chain of custody;
* :mod:`~watchkeeper.report.exports` writes GeoJSON, KML, FollowTheMoney, GeoParquet and CSV.

``docs/dossiers.md`` describes the dossier, the manifest and the exports.
"""
