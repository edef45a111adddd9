"""Everything about a scan, with no Flask and no database: reading GTINs, GS1 data and codes."""
