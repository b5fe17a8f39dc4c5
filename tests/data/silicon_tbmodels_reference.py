"""Reference band energies of the public silicon Wannier90 files (../shared/data/wannier90)
from TBmodels, stored in tests/test_wannier_real.py.

Run: ``python tests/data/silicon_tbmodels_reference.py`` with TBmodels installed
(``pip install tbmodels``; 1.4.3 was used). The call is
``tbmodels.Model.from_wannier_files(hr_file=..., wsvec_file=..., xyz_file=..., win_file=...)``
(TBmodels applies the wsvec Wigner-Seitz shifts as Wannier90 does) and
``model.eigenval(k_frac)`` at k points in fractional coordinates of the reciprocal vectors.
"""

import sys
from pathlib import Path

import numpy as np
import tbmodels

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "wannier90"
K_FRAC = [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, 0.0, 0.5], [0.375, -0.375, 0.0],
          [0.1, 0.2, 0.3], [0.37, 0.11, -0.23]]


def main(data=DATA):
    files = dict(hr_file=str(data / "silicon_hr.dat"), win_file=str(data / "silicon.win"),
                 xyz_file=str(data / "silicon_centres.xyz"))
    with_ws = tbmodels.Model.from_wannier_files(wsvec_file=str(data / "silicon_wsvec.dat"), **files)
    without = tbmodels.Model.from_wannier_files(hr_file=files["hr_file"])
    print(f"# TBmodels {tbmodels.__version__}")
    for name, model in (("WITH_WSVEC", with_ws), ("WITHOUT_WSVEC", without)):
        print(f"{name} = [")
        for row in np.array(model.eigenval(K_FRAC)):
            print("    [" + ", ".join(f"{x:.10f}" for x in row) + "],")
        print("]")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DATA)
