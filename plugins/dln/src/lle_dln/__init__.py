"""lle-dln: the Deep Lightening Network (Wang, Liu, Siu, Lun) as an `lle` plugin.

Components (registered under ``dln.``): ``fa`` (fusion op), ``model``, ``loss_dif``,
``synthetic`` (dataset), ``circle`` and ``finetune`` (trainers). Import the submodules
directly (``lle_dln.model``, ``lle_dln.synthetic``); this package itself imports nothing heavy.
"""

__version__ = "0.1.0"

#: The paper every component of this plugin cites (sections and equations are added per class).
PAPER = (
    "Wang, Liu, Siu, Lun, \"Deep Lightening Network for Low-Light Image Enhancement\" "
    "(slides); journal: \"Lightening Network for Low-light Image Enhancement\", TIP 2020"
)
