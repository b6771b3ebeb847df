"""Geography: ports and anchorages, coastline, reception."""
