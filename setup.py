"""Build hook for pyproject.toml: of the ``chalicelib`` package, the wheel takes the contract module alone."""

from setuptools import setup
from setuptools.command.build_py import build_py

EDGE_SIDE_OF_CHALICELIB = ("__init__", "contracts")


class EdgeOnly(build_py):
    """``chalicelib``'s other modules (the cloud, the Lambda's requirements) stay out of the edge's wheel;
    ``packages.find`` already leaves out its subpackages."""

    def find_package_modules(self, package, package_dir):
        modules = super().find_package_modules(package, package_dir)
        return [m for m in modules if package != "chalicelib" or m[1] in EDGE_SIDE_OF_CHALICELIB]


setup(cmdclass={"build_py": EdgeOnly})
