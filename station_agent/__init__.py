"""The station agent: reads a USB scanner at a packing or receiving station and posts each
scan to the warehouse service, through an on-disk outbox so no scan is lost or doubled."""
