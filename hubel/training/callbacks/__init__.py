"""Callbacks: hooks around the training loop, one small file each."""

from hubel.training.callbacks.base import Callback, CallbackList
from hubel.training.callbacks.csv_logger import CSVLogger
from hubel.training.callbacks.early_stopping import EarlyStopping
from hubel.training.callbacks.history import History
from hubel.training.callbacks.model_checkpoint import ModelCheckpoint
from hubel.training.callbacks.progbar import ProgbarLogger
from hubel.training.callbacks.schedules import LearningRateScheduler, ReduceLROnPlateau
from hubel.training.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = ["Callback", "CallbackList", "CSVLogger", "EarlyStopping", "History",
           "ModelCheckpoint", "ProgbarLogger", "LearningRateScheduler", "ReduceLROnPlateau",
           "TerminateOnNaN"]
