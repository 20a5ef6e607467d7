"""Real human data in the seed's formats, built from files that Debian packages ship.

``debian`` fetches and unpacks the packages (checksummed, so every build starts from the
same bytes); ``geuvadis_chr22`` turns 1000 Genomes genotypes, Geuvadis expression and a
GRCh37 chr22 sequence into a study: reference, VCF URL list, partition table and lists.
"""
