"""Model families (one module each), a small registry, and offline weight loading.

Importing this package registers every family; torch is needed from here on.
"""

from . import registry  # noqa: F401
from .registry import build_model, load_model, model_card, save_model  # noqa: F401
