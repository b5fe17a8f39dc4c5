"""Input and output: everything that reads or writes files lives here, outside the physics
core (the core never imports this package).

* :mod:`mesokinetics.io.config` - TOML sample presets: schema, validation, ``load_config``
* :mod:`mesokinetics.io.results` - result folders (``.npz`` arrays + JSON), ``load_result``
* :mod:`mesokinetics.io.vtk` - ParaView files through meshio (the only module that knows VTU)
* :mod:`mesokinetics.io.wannier90` - Wannier90 ``seedname_hr.dat`` / ``seedname_tb.dat``
  tight-binding files (``read_hr``, ``write_hr``, ``read_tb``, ``write_tb``) and whole seeds
  (``read_wannier90``: .win, wsvec, centres; docs/materials.md)

Submodules are imported on demand, so ``import mesokinetics`` does not load meshio.
"""
