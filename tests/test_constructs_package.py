"""constructs/ must merge into the constructs library's package, never shadow it."""

from pathlib import Path

import constructs
from constructs import Construct

PROJECT_CONSTRUCTS = Path(__file__).resolve().parent.parent / "constructs"


def test_project_constructs_folder_has_no_init_file():
    # An __init__.py would turn constructs/ into a regular package that hides the library
    # aws-cdk-lib is built on, and nothing would import.
    assert not (PROJECT_CONSTRUCTS / "__init__.py").exists()


def test_construct_is_still_the_library_class():
    assert Construct.__module__.startswith("constructs"), Construct.__module__
    assert hasattr(Construct, "is_construct"), "constructs.Construct is not the jsii class"
    library_dirs = [Path(p) for p in constructs.__path__ if Path(p) != PROJECT_CONSTRUCTS]
    assert any((d / "__init__.py").exists() for d in library_dirs)


def test_project_modules_import_through_the_library_namespace():
    from constructs.istio_mesh import IstioMesh

    assert issubclass(IstioMesh, Construct)
    assert str(PROJECT_CONSTRUCTS) in [str(Path(p)) for p in constructs.__path__]
