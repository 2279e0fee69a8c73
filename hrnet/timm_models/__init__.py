"""timm drop-in: ``import hrnet`` registers this package's HRNet under timm's eleven HRNet names.

The adapter is :mod:`hrnet.timm_models.hrnet`, named like timm's own ``timm.models.hrnet`` because timm files a
registered model under the last part of its module's name: so ``timm.list_models(module='hrnet')`` (which timm's
own tests use to pick the models for some tests) lists these entries as it listed timm's.
"""

from .hrnet import FEATURE_LOCATIONS, MODEL_ARCHS, HighResolutionNet, HRNetFeatures, create_hrnet, default_cfgs

__all__ = ["FEATURE_LOCATIONS", "HRNetFeatures", "HighResolutionNet", "MODEL_ARCHS", "create_hrnet", "default_cfgs"]
