"""Container names: Docker's validation rule and its ``adjective_surname`` generator.

Names are stored without the leading ``/`` that Docker's API shows
(``"Name": "/focused_turing"``); the API layer adds it on output.
"""
from __future__ import annotations

import random
import re
from typing import Callable

from hithe.errors import Conflict, InvalidParameter

# moby daemon/names: RestrictedNameChars.  Docker prints the class, not the
# regexp, in its error message.
NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
# ASCII only on purpose: the class is spelled out, and fullmatch() is used so
# that a trailing newline cannot sneak past "$".  "+" (not "*") after the
# first class means a name has at least two characters, as in Docker.
_NAME_RE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")

# Docker tries a plain name, then five more with a random digit appended,
# before falling back to the short container ID.
_DOCKER_ATTEMPTS = 6
# Without a fallback we keep going with wider suffixes; this bounds the loop
# so that a `taken` that always says yes cannot hang the daemon.
_EXTRA_ATTEMPTS = 1000

_ADJECTIVES = (
    "admiring", "agile", "amazing", "ample", "ardent", "artful", "astute",
    "audacious", "blissful", "bold", "boring", "brave", "breezy", "bright",
    "brilliant", "busy", "calm", "candid", "careful", "charming", "cheerful",
    "clever", "cool", "cosmic", "courageous", "crafty", "curious", "dapper",
    "daring", "dazzling", "decisive", "determined", "diligent", "dreamy",
    "eager", "earnest", "ecstatic", "elastic", "elated", "elegant", "eloquent",
    "epic", "fearless", "fervent", "festive", "focused", "frosty", "gallant",
    "gentle", "gifted", "gleaming", "glowing", "graceful", "happy", "hardy",
    "hearty", "hopeful", "humble", "hungry", "inspiring", "intrepid", "jolly",
    "jovial", "keen", "kind", "lively", "loving", "lucid", "lucky", "magical",
    "mellow", "merry", "mindful", "modest", "musing", "mystic", "nifty",
    "nimble", "noble", "optimistic", "patient", "peaceful", "placid",
    "playful", "plucky", "polite", "practical", "precise", "proud", "quick",
    "quiet", "radiant", "relaxed", "resolute", "serene", "sharp", "sleepy",
    "snappy", "spirited", "stoic", "sturdy", "sunny", "swift", "tender",
    "thirsty", "thoughtful", "tidy", "tranquil", "upbeat", "valiant",
    "vibrant", "vigilant", "vivid", "wise", "witty", "youthful", "zealous",
)

# Surnames of scientists, mathematicians and engineers.
_SURNAMES = (
    # mathematics
    "abel", "agnesi", "banach", "bernoulli", "boole", "cantor", "cauchy",
    "chebyshev", "church", "conway", "dedekind", "descartes", "erdos",
    "euclid", "euler", "fermat", "fibonacci", "fourier", "galois", "gauss",
    "germain", "godel", "hadamard", "hilbert", "hypatia", "jacobi",
    "khayyam", "khwarizmi", "klein", "kleene", "kolmogorov", "kovalevskaya",
    "lagrange", "laplace", "leibniz", "lyapunov", "markov", "mirzakhani",
    "napier", "nash", "noether", "pascal", "poincare", "ramanujan",
    "riemann", "tarski", "weierstrass", "wiles",
    # physics and astronomy
    "ampere", "archimedes", "becquerel", "bethe", "bohr", "boltzmann",
    "bose", "bragg", "brahe", "burnell", "cannon", "carnot", "cavendish",
    "chadwick", "chandrasekhar", "clausius", "copernicus", "coulomb",
    "curie", "debye", "dirac", "doppler", "dyson", "eddington", "einstein",
    "faraday", "fermi", "feynman", "fraunhofer", "galileo", "gamow",
    "geiger", "heisenberg", "helmholtz", "herschel", "hertz", "higgs",
    "hooke", "hubble", "huygens", "joule", "kapitsa", "kelvin", "kepler",
    "kirchhoff", "landau", "leavitt", "lemaitre", "mach", "maxwell",
    "meitner", "millikan", "newton", "oersted", "ohm", "pauli", "payne",
    "penrose", "planck", "ptolemy", "raman", "roentgen", "rubin",
    "rutherford", "sagan", "sakharov", "schrodinger", "somerville", "szilard",
    "thorne", "tombaugh", "volta", "wheeler", "wigner", "wu", "yukawa",
    "zwicky",
    # chemistry, biology and medicine
    "arrhenius", "avogadro", "banting", "boyle", "cajal", "carson", "crick",
    "dalton", "darwin", "doudna", "ehrlich", "elion", "fleming", "franklin",
    "golgi", "goodall", "haldane", "harvey", "hodgkin", "jenner", "krebs",
    "lavoisier", "lister", "margulis", "mcclintock", "mendel", "mendeleev",
    "nightingale", "pasteur", "pauling", "pavlov", "priestley", "salk",
    "sanger", "semmelweis", "snow", "tu", "vesalius", "wallace", "yalow",
    "yonath",
    # computing
    "allen", "babbage", "backus", "bartik", "cerf", "diffie", "dijkstra",
    "easley", "engelbart", "goldberg", "hamilton", "hamming", "hellman",
    "hoare", "hollerith", "hopper", "jackson", "johnson", "kahn", "kay",
    "kernighan", "knuth", "lamport", "liskov", "lovelace", "mccarthy",
    "merkle", "minsky", "neumann", "ritchie", "rivest", "sammet", "shamir",
    "shannon", "stallman", "thompson", "torvalds", "turing", "vaughan",
    "wiener", "wilkes", "wing", "wirth", "zuse",
    # engineering and invention
    "bardeen", "bell", "brattain", "brunel", "diesel", "edison", "faggin",
    "goddard", "heaviside", "jacquard", "kilby", "korolev", "lamarr",
    "marconi", "morse", "noyce", "steinmetz", "stephenson", "tesla",
    "tsiolkovsky", "watt", "wozniak", "wright",
)


def validate_name(name: str) -> str:
    """Check a user-chosen container name; return it without a leading ``/``.

    Docker strips one leading slash and matches the rest against
    ``[a-zA-Z0-9][a-zA-Z0-9_.-]+``; its message quotes the name as given.
    An empty name is refused here: callers that treat "" as "pick one for
    me" (as ``docker create`` does) must check for it before calling.
    """
    bare = name[1:] if name.startswith("/") else name
    if _NAME_RE.fullmatch(bare) is None:
        raise InvalidParameter(
            f"Invalid container name ({name}), only {NAME_CHARS} are allowed")
    return bare


def _pick(rng: random.Random) -> str:
    while True:
        name = rng.choice(_ADJECTIVES) + "_" + rng.choice(_SURNAMES)
        if name != "boring_wozniak":  # Steve Wozniak is not boring (Docker's rule)
            return name


def random_name(taken: Callable[[str], bool], *, fallback: str | None = None,
                rng: random.Random | None = None) -> str:
    """A free ``adjective_surname`` name, retried like Docker's daemon.

    ``taken(name)`` is asked for each candidate (names without ``/``).  The
    first try is a bare name; the next five append one random digit to a
    fresh name (``focused_turing3``).  Docker then uses the short container
    ID: pass it as ``fallback``.  Without one, wider numeric suffixes are
    tried before giving up with :class:`Conflict`.

    The answer is only free at the time ``taken`` was asked: the caller must
    still reserve it atomically (and call again if it lost the race).
    """
    r = rng if rng is not None else _rng
    for attempt in range(_DOCKER_ATTEMPTS):
        name = _pick(r)
        if attempt:
            name += str(r.randrange(10))
        if not taken(name):
            return name
    if fallback is not None:
        return fallback
    for _ in range(_EXTRA_ATTEMPTS):
        name = _pick(r) + str(r.randrange(10, 100000))
        if not taken(name):
            return name
    raise Conflict("unable to generate a unique container name")


# One module-level generator: seeded from the OS at import, so two daemons
# started in the same second do not walk the same sequence of names.
_rng = random.Random()
