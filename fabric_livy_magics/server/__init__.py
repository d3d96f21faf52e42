"""A local Livy-compatible server on real PySpark: the embedded default for demos and tests.

It speaks both Apache Livy's URL shape and Microsoft Fabric's Livy API shape over the same
sessions. It shares no code with the client: both are held to the wire format.
"""
