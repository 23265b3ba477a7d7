"""bgremover: self-hostable background removal with real alpha mattes."""
from bgremover.errors import BgRemoverError
from bgremover.pipeline.remover import Cutout, CutoutOptions, Remover, remove

__version__ = "0.1.0"
__all__ = ["BgRemoverError", "Cutout", "CutoutOptions", "Remover", "__version__", "remove"]
