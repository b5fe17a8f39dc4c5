"""The shipped presets: installed as the package data ``mesokinetics.geometries``.

This folder is the single source of the presets (``*.toml``) and of the data files they
name (``*.dat``); ``pyproject.toml`` maps the package ``mesokinetics.geometries`` to it, so
editable and normal installs find the files with
``importlib.resources.files("mesokinetics.geometries")`` (see
:func:`mesokinetics.io.config.preset_dirs`). No code lives here.
"""
