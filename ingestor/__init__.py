"""spectrocloud-ingestor: SpectroCloud Palette for Backstage and AI agents."""

__version__ = "0.1.0"
