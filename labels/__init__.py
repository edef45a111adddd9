"""Rendering barcodes, shipping and SSCC labels and slips, and sending them to printers.

A library with no Flask and no database: it takes and returns plain values.
"""
