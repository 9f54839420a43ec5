"""Cluster creation requests: the seed's simple bodies and Palette entities, normalised and validated.

Pure (no I/O): ``requests`` parses the simple bodies, ``build`` turns them into Palette creation
entities, ``entity`` repairs what the stock wizard sends (compat F5) and checks an entity against Palette's
own definition plus the rules the schema cannot say, ``variables`` places profile variables. Every problem
names its field; none echoes a value. Imports only ``ingestor.palette.schema`` of ours.
"""
