"""The end-to-end demo (``lle demo`` / ``make demo``).

* :mod:`lle_core.demo.images` — clean photos without download (scikit-image's bundled photos
  or procedural images).
* :mod:`lle_core.demo.run` — :func:`run_demo`: synthesise pairs with
  :func:`lle_core.data.synthesis.synthesize` (:data:`~lle_core.data.synthesis.DEMO_NOISE`),
  train, evaluate, report.
"""
