"""lle-template: TemplateNet (Doe et al., Venue 2030) as a plugin of the ``lle`` toolkit.

Registered names: ``template.model`` and the recipe ``template:paper``.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: The paper every component of this plugin cites (sections and equations are added per class).
PAPER = "Doe, Roe, TemplateNet: a placeholder low-light enhancer, Venue 2030"
