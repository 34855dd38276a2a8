"""Spark UDFs that run models inside Python workers."""
