"""Scale-out on PostgreSQL: several ``ingestor serve`` processes on one database."""
