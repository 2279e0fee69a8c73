"""The ``hrnet`` registry scope: a child of mmengine's root registry, so ``type='hrnet.X'`` resolves
from mmpose, mmseg and mmdet configs alike."""

from mmengine.registry import DATASETS as ROOT_DATASETS
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.registry import MODEL_WRAPPERS as ROOT_MODEL_WRAPPERS
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import Registry

MODELS = Registry("model", parent=ROOT_MODELS, scope="hrnet", locations=["hrnet.mm"])
DATASETS = Registry("dataset", parent=ROOT_DATASETS, scope="hrnet", locations=["hrnet.mm"])
MODEL_WRAPPERS = Registry("model_wrapper", parent=ROOT_MODEL_WRAPPERS, scope="hrnet", locations=["hrnet.mm"])
HOOKS = Registry("hook", parent=ROOT_HOOKS, scope="hrnet", locations=["hrnet.mm"])
