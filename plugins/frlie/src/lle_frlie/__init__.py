"""lle-frlie: FRLIE (Yang, Zhang, Guo, ICASSP 2022), low-light enhancement via feature restoration.

Registered components (plugin id ``frlie``): blocks ``frlie.autoencoder``,
``frlie.context_block``, ``frlie.res_block``, ``frlie.frblock``, ``frlie.frnet``; model
``frlie.model``; losses ``frlie.hue``, ``frlie.feature_matching``; trainer ``frlie.two_stage``;
recipes ``frlie:paper_stage1``, ``frlie:paper_stage2``, ``frlie:paper``, ``frlie:wo_fr``.

Importing this package is cheap; the modules load torch when used.
"""

__version__ = "0.1.0"
