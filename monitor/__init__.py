"""Public-opinion (舆情) monitoring and response service for health authorities."""

__version__ = "0.1.0"
