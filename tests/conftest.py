import pytest

from sgdcheck.plugin import load_hypothesis_profile

load_hypothesis_profile()      # the engine's own property tests use the profile the claims use


@pytest.fixture
def fashion_mnist():
    """Skips, saying why, where the FashionMNIST files are not installed (the setups read them)."""
    from sgdcheck.data import load
    from sgdcheck.errors import DataError
    try:
        load("fashion-mnist")
    except DataError as error:
        pytest.skip(f"FashionMNIST is not on this machine: {error}")
