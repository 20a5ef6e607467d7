"""The consensus stage's settings (config ``consensus``), read by the VCF and sequences stages.

The options a user chooses, their allowed values and the one check of them: the VCF
check, both engines, the CLI and the config schema read the choices from here (a test
holds the schema's enums equal to these tuples); the engines take them as one
:class:`ConsensusOptions`, the pipeline the whole block as :class:`ConsensusSettings`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# fast: one compiled VCF pass per chromosome for all individuals; bcftools: bcftools
# consensus per individual and haplotype.
ENGINES = ("fast", "bcftools")
# all: SNVs and indels; snvs: the seed's SNV-only mode.
VARIANT_MODES = ("all", "snvs")
# reference: keep the reference base (bcftools consensus's default); N: ``-M N``.
MISSING_POLICIES = ("reference", "N")
# error: refuse an unphased heterozygous call; as_listed: the allele written first goes to
# haplotype 1, as bcftools consensus -H 1 does; iupac: both haplotypes get the IUPAC code
# of the call's alleles, as the seed's bcftools consensus -H 1pIu / -H 2pIu does.
UNPHASED_POLICIES = ("error", "as_listed", "iupac")

OPTIONS = {
    "engine": ENGINES,
    "variants": VARIANT_MODES,
    "missing": MISSING_POLICIES,
    "unphased": UNPHASED_POLICIES,
}


class ConsensusOptionError(ValueError):
    """A consensus option has a value no engine knows; the message names the choices."""


def check_options(**chosen: str) -> None:
    """Raise ConsensusOptionError for the first option whose value is not allowed."""
    for name, value in chosen.items():
        allowed = OPTIONS[name]
        if value not in allowed:
            raise ConsensusOptionError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


@dataclass(frozen=True)
class ConsensusOptions:
    """How personal sequences are built: engine, variants, missing alleles, unphased calls.

    Checked once, on creation. The defaults are bcftools consensus's own behaviour (every
    variant, no ``-M``, ``-H 1`` taking unphased calls as listed), which library callers
    and ``haplexpr sequence`` get; the pipeline's come from config ``consensus``
    (:meth:`from_config`), whose ``unphased: error`` refuses such calls in the VCF check.
    """

    engine: str = "fast"
    variants: str = "all"
    missing: str = "reference"
    unphased: str = "as_listed"

    def __post_init__(self) -> None:
        check_options(**asdict(self))

    @classmethod
    def from_config(cls, config: dict) -> ConsensusOptions:
        """The options of a validated config's ``consensus`` block."""
        return cls(**{name: config["consensus"][name] for name in OPTIONS})


@dataclass(frozen=True)
class ConsensusSettings:
    """Config ``consensus``: the options, the window each gene gets and the jobs' sizes.

    The schema requires every key and fills none; these defaults (config.yaml's, the
    options' aside: see :class:`ConsensusOptions`) serve library callers such as the tests.
    """

    options: ConsensusOptions = ConsensusOptions()
    #: bases stored per haplotype around each TSS
    window_length: int = 4096
    #: bcftools norm -m -both and drop unusable records before consensus (rule vcf_normalise)
    normalise: bool = True
    #: individuals per consensus job (one store file each)
    individuals_per_job: int = 20

    @classmethod
    def from_config(cls, config: dict) -> ConsensusSettings:
        """Settings from a validated config."""
        block = config["consensus"]
        return cls(
            ConsensusOptions.from_config(config),
            block["window_length"],
            block["normalise"],
            block["individuals_per_job"],
        )
