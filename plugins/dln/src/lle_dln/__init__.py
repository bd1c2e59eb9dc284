"""lle-dln: the Deep Lightening Network (Wang, Liu, Siu, Lun) as an `lle` plugin.

Components (registered under ``dln.``): ``lighten_block``, ``darken_block``, ``fa`` (block and
fusion op), ``lbp``, ``model``, ``loss_dif``, ``synthetic`` (dataset) and ``circle``
(training scheme). Import the submodules directly (``lle_dln.model``, ``lle_dln.synthetic``);
this package itself imports nothing heavy.
"""

__version__ = "0.1.0"
