"""hubel.models: Sequential, functional Model, subclassing, summary, save/load."""

from hubel.models.model import Model
from hubel.models.saving import load_model, read_metadata, register_serializable
from hubel.models.sequential import Sequential
from hubel.models.summary import summary_rows

__all__ = ["Model", "Sequential", "load_model", "read_metadata", "register_serializable",
           "summary_rows"]
