"""lle-frlie: FRLIE (Yang, Zhang, Guo, ICASSP 2022), low-light enhancement via feature restoration.

Registered components (plugin id ``frlie``): model ``frlie.model``; losses ``frlie.hue``,
``frlie.feature_matching``; trainer ``frlie.two_stage``; recipes ``frlie:paper_stage1``,
``frlie:paper_stage2``, ``frlie:paper``, ``frlie:wo_fr``.

Importing this package is cheap; the modules load torch when used.
"""

__version__ = "0.1.0"

#: The paper every component of this plugin cites (sections and equations are added per class).
PAPER = (
    "Yang, Zhang, Guo, Low-light image enhancement via feature restoration, ICASSP 2022"
)
