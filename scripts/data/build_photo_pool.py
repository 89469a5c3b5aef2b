#!/usr/bin/python3
"""Build the photo pool that cmedit's built-in image model is trained on, from Debian 12 packages.

usage: build_photo_pool.py WORKDIR OUTDIR [--no-download] [--lite]

The pool is about 800 distinct, openly licensed colour photographs that Debian 12 (bookworm) main
ships inside 23 packages (wallpapers, avatars, demo albums, game scenery, test images).  The
packages, paths and licences were chosen by hand; see shared/data/README.md
in the project's shared notes for the survey.

Steps:
  1. `apt-get download` each package into WORKDIR/debs (skipped for .debs already there, and
     entirely with --no-download), then `dpkg -x` it into WORKDIR/x/PKG (once).
  2. Read every candidate image: plain files, members of Qt resource files (.rcc), the largest
     JPEG stream of Enlightenment backgrounds (.edj) and members of zip archives (.pk3).  For each
     one only its size, a 64-bit difference hash and a colourfulness flag are kept in memory.
  3. Drop images whose short side is under 64 px, near-grey images, and near-duplicates (dHash
     Hamming distance <= 6); of each group of duplicates the one with the most pixels is kept.
  4. Write the kept photos, largest first, as OUTDIR/photos/NNNNN.jpg (the original bytes, when
     the source is an RGB JPEG file) or NNNNN.png (converted to RGB; transparency over mid grey).
  5. Write OUTDIR/manifest.tsv (file, w, h, package, source, license, split) and
     OUTDIR/licences.tsv (NAME, LICENCE, SOURCE, SPLIT; the format `cmedit-train pack --manifest`
     reads).

Licences are resolved per photo from the package's machine-readable copyright file
(/usr/share/doc/PKG/copyright, DEP-5): the last `Files:` stanza whose pattern matches the photo
wins (see LicenceResolver for the two refinements).  Photos that no stanza with a licence name
covers, and packages without a DEP-5 copyright file, get the package licence from the SOURCES
table below.  About 10 % of the photos form a fixed test split, chosen by a hash of package and
source path, so a photo keeps its split across rebuilds and renumbering.

--lite leaves out the five largest packages with few photos (enlightenment-data, ufoai-textures,
stellarium-data, opencv-doc, psychtoolbox-3-common): ~470 MB of .debs instead of ~1.6 GB.

Needs apt-get, dpkg and Debian's python3-pil (run it with /usr/bin/python3 where another Python
comes first on PATH); the only network access is `apt-get download` from the Debian mirror.
"""
from __future__ import annotations

import argparse
import collections
import functools
import hashlib
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator

try:
    from PIL import Image
except ImportError:
    sys.exit("build_photo_pool.py needs Pillow: apt-get install --no-install-recommends python3-pil")

Image.MAX_IMAGE_PIXELS = None  # the wallpapers are large, and every source is a Debian package

MIN_SIDE = 64             # smallest short side worth keeping (the model trains on 64x64 crops)
GREY_THRESHOLD = 6        # mean (max - min) channel spread, 0..255, below which a photo is grey
DUPLICATE_DISTANCE = 6    # dHash Hamming distance at or below which two images are one photo
TEST_FRACTION = 0.10      # share of photos held out for evaluation
GREY_BACKGROUND = (127, 127, 127, 255)  # what transparent pixels become


def one_of(*names: str) -> str:
    """A regex group that matches any of the literal names."""
    return "(" + "|".join(re.escape(n) for n in names) + ")"


@dataclass(frozen=True)
class Source:
    """Where one package keeps its photos.

    paths matches (re.fullmatch) paths relative to the unpacked package; for containers, members
    matches the member names inside each matched file.  licence is the package-level fallback.
    For the copyright lookup, licence_root is the installed folder that stands for the upstream
    source tree (container members count as lying in the container's folder), and
    upstream_suffixes lists the file-name suffixes photos had upstream when the package converted
    them (GCompris ships .webp made from .jpg/.png).
    """

    package: str
    paths: str
    licence: str
    container: str = "file"          # file | rcc | edj | zip
    members: str | None = None
    licence_root: str = ""
    upstream_suffixes: tuple[str, ...] = ()
    lite: bool = True                # part of the --lite build


SOURCES = [
    Source("endless-sky-high-dpi",
           r"usr/share/games/endless-sky/plugins/endless-sky-high-dpi/images/land/[^/]+\.jpg",
           "CC-BY-SA-3.0 AND CC-BY-SA-4.0",
           licence_root="usr/share/games/endless-sky/plugins/endless-sky-high-dpi/"),
    Source("mate-backgrounds", r"usr/share/backgrounds/mate/nature/[^/]+\.jpg", "GPL-2.0-or-later",
           licence_root="usr/share/backgrounds/mate/"),
    Source("lomiri-wallpapers-16.04", r"usr/share/backgrounds/(?!umang)[^/]+\.jpg",
           "CC-BY-4.0 AND CC-BY-SA-4.0"),
    Source("lomiri-wallpapers-20.04", r"usr/share/backgrounds/(Kleiber|Infinite-Sea)[^/]*\.jpg",
           "CC-BY-SA-3.0"),
    Source("plasma-workspace-wallpapers",
           r"usr/share/wallpapers/" + one_of(
               "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf",
               "Grey", "Kite", "OneStandsOut", "Path", "Volna", "summer_1am") + r"/contents/images/[^/]+",
           "GPL-2.0-or-later"),
    Source("lxqt-themes",
           r"usr/share/lxqt/wallpapers/" + one_of(
               "Valendas", "after-the-rain", "appleflower", "beam", "butterfly", "cloud", "drop",
               "flowers", "fog", "this-is-not-windows") + r"\.[a-z]+",
           "LGPL-2.1-or-later", licence_root="usr/share/lxqt/"),
    Source("enlightenment-data",
           r"usr/share/enlightenment/data/backgrounds/" + one_of(
               "Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain",
               "Peaks", "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles",
               "Sunset-Clouds", "White-Flower", "Yellow-Flower") + r"\.edj",
           "BSD-2-Clause", container="edj", lite=False),
    Source("gnome-control-center-data", r"usr/share/pixmaps/faces/.*\.(jpg|png)",
           "GPL-2.0-or-later AND CC0-1.0"),
    Source("plasma-workspace-data", r"usr/share/plasma/avatars/photos/[^/]+\.png", "CC0-1.0"),
    Source("gcompris-qt-data",
           r"usr/share/gcompris-qt/rcc/" + one_of(
               "erase", "explore_monuments", "explore_world_animals", "explore_farm_animals",
               "explore_world_music", "categorization") + r"\.rcc",
           "CC-BY-2.0 AND CC-BY-SA-3.0 AND CC-BY-SA-4.0",
           container="rcc", licence_root="usr/share/gcompris-qt/rcc/gcompris/",
           members=r"gcompris/src/activities/(erase/resource|explore_[a-z_]+/resource"
                   r"|categorization/resource/images/(fishes|monuments|renewable|tools))/.+\.webp",
           upstream_suffixes=(".jpg", ".jpeg", ".png", ".svg")),
    Source("scratch", r"usr/share/scratch/Media/Backgrounds/.*\.jpg", "CC-BY-SA-3.0",
           licence_root="usr/share/scratch/"),
    Source("tuxpaint-data", r"usr/share/tuxpaint/templates/[^/]+\.jpg", "GPL-2.0-or-later"),
    Source("kphotoalbum", r"usr/share/kphotoalbum/demo/[^/]+\.jpg", "GPL-2.0-or-later"),
    Source("scribus-template",
           r".*/" + one_of("brightness", "halfmoon", "moon", "nature", "sunset", "teriyaki", "pizza",
                           "craigbradney") + r"\.(jpg|png)",
           "GPL-2.0-or-later"),
    Source("opencv-doc",
           r"usr/share/doc/opencv-doc/examples/data/" + one_of(
               "aero1", "aero3", "apple", "baboon", "board", "building", "butterfly", "chicky_512",
               "fruits", "graf1", "graf3", "home", "leuvenA", "leuvenB", "messi5", "orange",
               "rubberwhale1", "smarties", "squirrel_cls", "stuff") + r"\.(jpg|png)",
           "BSD-3-Clause", lite=False),
    Source("python3-skimage",
           r".*/skimage/data/" + one_of("astronaut", "chelsea", "coffee", "rocket", "motorcycle_left")
           + r"\.(png|jpg)",
           "BSD-3-Clause AND CC0-1.0"),
    Source("python-matplotlib-data", r".*/sample_data/grace_hopper\.jpg", "public-domain"),
    Source("palapeli-data", r"usr/share/palapeli/collection/[^/]+\.jpg", "CC-BY-SA-3.0"),
    Source("libdlib19.1", r"usr/share/doc/libdlib19.1/examples/faces/[^/]+\.jpg", "BSL-1.0",
           licence_root="usr/share/doc/libdlib19.1/"),
    Source("psychtoolbox-3-common", r".*/(konijntjes1024x768|town)\.jpg", "MIT", lite=False),
    Source("libjs-jquery-slides", r".*/examples/Linking/img/slide[^/]*\.jpg", "Apache-2.0"),
    Source("stellarium-data",
           r"usr/share/stellarium/landscapes/(guereins|garching|hurricane)/[^/]+\.(png|jpg)",
           "GPL-2.0-or-later", lite=False),
    Source("ufoai-textures", r"usr/share/games/ufoai/base/0textures\.pk3",
           "GPL-2.0-or-later AND CC-BY-SA-3.0", container="zip", licence_root="usr/share/games/ufoai/",
           members=r"textures/tex_pics/(cow[123]|landsc[^/]*|art_africa00[4-9]|art_flower|traktor[^/]*)"
                   r"\.(jpg|png)",
           lite=False),
]


# --------------------------------------------------------------------------- packages

def fetch_packages(sources: list[Source], workdir: str, download: bool) -> dict[str, str]:
    """Download (unless told not to) and unpack the packages; return package -> unpacked root."""
    debs = os.path.join(workdir, "debs")
    os.makedirs(debs, exist_ok=True)
    missing = [s.package for s in sources if not find_deb(debs, s.package)]
    if missing and download:
        log(f"downloading {len(missing)} packages")
        subprocess.run(["apt-get", "-q", "-o", "DPkg::Lock::Timeout=900", "download", *missing],
                       cwd=debs, check=True)
    roots = {}
    for source in sources:
        deb = find_deb(debs, source.package)
        if deb is None:
            sys.exit(f"no .deb for {source.package} in {debs} (run without --no-download)")
        roots[source.package] = unpack(deb, os.path.join(workdir, "x", source.package))
    return roots


def find_deb(folder: str, package: str) -> str | None:
    """The newest downloaded .deb of package in folder, or None."""
    debs = [os.path.join(folder, f) for f in os.listdir(folder)
            if f.startswith(package + "_") and f.endswith(".deb")]
    return max(debs, key=os.path.getmtime, default=None)


def unpack(deb: str, root: str) -> str:
    """`dpkg -x` deb into root unless that was done before; a partial unpack is never reused."""
    if not os.path.isdir(root):
        log(f"unpacking {os.path.basename(deb)}")
        partial = root + ".partial"
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(os.path.dirname(partial), exist_ok=True)
        subprocess.run(["dpkg", "-x", deb, partial], check=True)
        os.rename(partial, root)
    return root


# --------------------------------------------------------------------------- candidate images

@dataclass(frozen=True)
class Item:
    """One candidate image and how to read its bytes (again) without holding them."""

    origin: Source
    source: str                  # path inside the package; "ARCHIVE!MEMBER" for container members
    licence_path: str            # the path the copyright lookup sees
    in_container: bool
    exact_file: bool             # read() returns a complete image file, fit to copy as is
    read: Callable[[], bytes]


def read_range(path: str, offset: int = 0, size: int = -1, qt_zlib: bool = False) -> bytes:
    """Bytes [offset, offset + size) of a file (to its end for size -1), optionally qUncompress'ed."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read(size)
    return zlib.decompress(data[4:]) if qt_zlib else data  # qCompress prefixes a 4-byte length


def read_zip_member(path: str, member: str) -> bytes:
    """The bytes of one member of a zip archive (.pk3)."""
    with zipfile.ZipFile(path) as z:
        return z.read(member)


def rcc_members(data: bytes) -> Iterator[tuple[str, int, int, bool]]:
    """Files in a Qt binary resource (.rcc, format 1-3): (name, offset, size, zlib-compressed).

    Layout: a header (magic "qres", version, tree/data/names offsets), a tree of fixed-size nodes
    (directories list a run of child nodes; files point into the data block, where a 4-byte size
    precedes the bytes), and a names block of length-prefixed UTF-16 strings.
    """
    magic, version, tree, payload, names = struct.unpack_from(">4sIIII", data, 0)
    if magic != b"qres":
        raise ValueError("not a Qt resource file")
    node_size = 22 if version >= 2 else 14  # format 2 added an 8-byte modification time

    def name_at(offset: int) -> str:
        (length,) = struct.unpack_from(">H", data, names + offset)
        start = names + offset + 6           # skip the length and a 4-byte hash
        return data[start:start + 2 * length].decode("utf-16-be")

    pending = [(0, "")]                      # node 0 is the nameless root directory
    while pending:
        node, prefix = pending.pop()
        at = tree + node * node_size
        name_offset, flags = struct.unpack_from(">IH", data, at)
        path = prefix + (name_at(name_offset) if node else "")
        if flags & 0x02:                     # directory
            count, first = struct.unpack_from(">II", data, at + 6)
            pending += [(first + i, path + "/" if path else "") for i in range(count)]
            continue
        if flags & 0x04:
            raise ValueError(f"{path}: zstd-compressed resources are not supported")
        (data_offset,) = struct.unpack_from(">I", data, at + 10)
        (size,) = struct.unpack_from(">I", data, payload + data_offset)
        yield path, payload + data_offset + 4, size, bool(flags & 0x01)


def largest_jpeg_offset(data: bytes) -> int | None:
    """Offset of the largest JPEG stream that decodes in data (Enlightenment .edj files are EET
    archives that keep lossy images as plain JPEG streams, one per screen size)."""
    streams = []
    at = data.find(b"\xff\xd8\xff")
    while at >= 0:
        try:
            with Image.open(io.BytesIO(data[at:])) as im:   # reads the header only
                if im.format == "JPEG":
                    streams.append((im.width * im.height, at))
        except OSError:
            pass
        at = data.find(b"\xff\xd8\xff", at + 3)
    for _, offset in sorted(streams, reverse=True):
        try:
            with Image.open(io.BytesIO(data[offset:])) as im:
                im.load()
            return offset
        except OSError:
            continue
    return None


def container_items(source: Source, path: str, rel: str) -> Iterator[Item]:
    """The candidate images that the package file path (rel inside the package) holds."""
    here = os.path.dirname(rel)
    if source.container == "file":
        yield Item(source, rel, rel, in_container=False, exact_file=True,
                   read=functools.partial(read_range, path))
    elif source.container == "edj":
        with open(path, "rb") as f:
            offset = largest_jpeg_offset(f.read())
        if offset is None:
            raise ValueError("no decodable JPEG stream")
        yield Item(source, rel, rel, in_container=False, exact_file=False,
                   read=functools.partial(read_range, path, offset))
    elif source.container == "rcc":
        with open(path, "rb") as f:
            members = list(rcc_members(f.read()))
        for name, offset, size, compressed in sorted(members):
            if re.fullmatch(source.members, name):
                yield Item(source, f"{rel}!{name}", f"{here}/{name}", in_container=True, exact_file=True,
                           read=functools.partial(read_range, path, offset, size, compressed))
    elif source.container == "zip":
        with zipfile.ZipFile(path) as z:
            names = sorted(z.namelist())
        for name in names:
            if re.fullmatch(source.members, name):
                yield Item(source, f"{rel}!{name}", f"{here}/{name}", in_container=True, exact_file=True,
                           read=functools.partial(read_zip_member, path, name))
    else:
        raise ValueError(f"unknown container kind {source.container!r}")


def package_items(source: Source, root: str) -> Iterator[Item]:
    """Every candidate image of one unpacked package, in a stable order."""
    for folder, subfolders, files in os.walk(root):
        subfolders.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            if not re.fullmatch(source.paths, rel):
                continue
            try:
                yield from container_items(source, path, rel)
            except (OSError, ValueError, zipfile.BadZipFile) as e:
                log(f"  skipped {source.package}: {rel}: {e}")


# --------------------------------------------------------------------------- image measures

def to_rgb(im: Image.Image) -> Image.Image:
    """RGB version of im; transparent parts are laid over mid grey."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        flat = Image.new("RGBA", im.size, GREY_BACKGROUND)
        flat.alpha_composite(im.convert("RGBA"))
        im = flat
    return im.convert("RGB")


def dhash64(rgb: Image.Image) -> int:
    """64-bit difference hash: on a 9x8 grey thumbnail, whether each pixel is brighter than its
    right-hand neighbour."""
    px = rgb.convert("L").resize((9, 8), Image.BILINEAR).tobytes()
    bits = 0
    for y in range(8):
        row = px[9 * y:9 * y + 9]
        for x in range(8):
            bits = bits << 1 | (row[x] > row[x + 1])
    return bits


def is_colourful(rgb: Image.Image) -> bool:
    """False for grey and near-monochrome (e.g. sepia) images, which teach no colour."""
    px = rgb.resize((64, 64), Image.BICUBIC).tobytes()
    spread = sum(max(px[i:i + 3]) - min(px[i:i + 3]) for i in range(0, len(px), 3))
    return spread / (len(px) // 3) >= GREY_THRESHOLD


@dataclass(frozen=True)
class Candidate:
    """What the selection needs to know about one decoded image."""

    item: Item
    width: int
    height: int
    dhash: int
    colourful: bool
    copy_bytes: bool             # an RGB JPEG file: write its original bytes

    @property
    def pixels(self) -> int:
        return self.width * self.height


def measure(items: Iterator[Item]) -> Iterator[Candidate]:
    """Decode each item once, skipping byte-identical repeats, and keep only its measures."""
    seen = set()
    for item in items:
        data = item.read()
        digest = hashlib.md5(data).digest()
        if digest in seen:
            continue
        seen.add(digest)
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                rgb = to_rgb(im)
                copy_bytes = item.exact_file and im.format == "JPEG" and im.mode == "RGB"
        except OSError as e:
            log(f"  skipped {item.origin.package}: {item.source}: {e}")
            continue
        yield Candidate(item, rgb.width, rgb.height, dhash64(rgb), is_colourful(rgb), copy_bytes)


def select(candidates: list[Candidate]) -> tuple[list[Candidate], collections.Counter]:
    """Largest first: keep each colourful, large-enough image that is not a near-duplicate of one
    kept before.  Returns the kept candidates and counts of the reasons others were dropped."""
    kept, hashes, dropped = [], [], collections.Counter()
    for c in sorted(candidates, key=lambda c: -c.pixels):   # stable: ties keep SOURCES order
        if min(c.width, c.height) < MIN_SIDE:
            dropped["small"] += 1
        elif not c.colourful:
            dropped["grey"] += 1
        elif any((c.dhash ^ h).bit_count() <= DUPLICATE_DISTANCE for h in hashes):
            dropped["duplicate"] += 1
        else:
            kept.append(c)
            hashes.append(c.dhash)
    return kept, dropped


# --------------------------------------------------------------------------- licences

@dataclass(frozen=True)
class Stanza:
    """A DEP-5 `Files:` paragraph: its patterns (as regexes) and its short licence name."""

    patterns: tuple[re.Pattern, ...]
    specific: tuple[bool, ...]                  # per pattern: names files, not a whole folder
    file_names: tuple[re.Pattern | None, ...]   # per pattern: its last part, if that has no '*'
    licence: str


def dep5_regex(glob: str) -> re.Pattern:
    """DEP-5 wildcards: '*' is any run of characters ('/' included), '?' one character."""
    out, i = [], 0
    while i < len(glob):
        if glob[i] == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 1
        else:
            out.append({"*": ".*", "?": "."}.get(glob[i], re.escape(glob[i])))
        i += 1
    return re.compile("".join(out), re.S)


def parse_dep5(text: str) -> list[Stanza] | None:
    """The `Files:` stanzas of a machine-readable copyright file, or None if it is not one."""
    paragraphs = []
    for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
        fields, key = {}, None
        for line in block.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line.strip()
            elif ":" in line and not line.startswith("#"):
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        paragraphs.append(fields)
    if not paragraphs or "format" not in paragraphs[0]:
        return None
    stanzas = []
    for fields in paragraphs[1:]:
        if "files" not in fields:
            continue
        globs = fields["files"].split()
        last_parts = [g.rsplit("/", 1)[-1] for g in globs]
        stanzas.append(Stanza(
            patterns=tuple(dep5_regex(g) for g in globs),
            specific=tuple(part != "*" for part in last_parts),
            file_names=tuple(dep5_regex(part) if "*" not in part else None for part in last_parts),
            licence=fields.get("license", "").split("\n", 1)[0].strip()))
    return stanzas


def combined(licences: list[str]) -> str:
    """All of the licences (each one's terms apply); public-domain adds no terms of its own."""
    terms = sorted(set(licences) - {"public-domain"})
    return " AND ".join(terms) if terms else "public-domain"


class LicenceResolver:
    """Per-photo licences from the packages' /usr/share/doc/PKG/copyright files (DEP-5).

    Patterns name paths in the upstream source tree, which Source.licence_root maps to the
    installed tree; without a licence_root only patterns that fit the path inside the package (in
    practice `Files: *`) apply.  The last matching stanza wins, with two refinements:
      * moved files: installing can flatten folders (lomiri-wallpapers' 16.04/X.jpg becomes
        usr/share/backgrounds/X.jpg).  A plain file that only folder-wide patterns cover takes the
        licence of the last stanza naming its file name (in a pattern whose last part has no '*').
      * contradictions: when several stanzas match through file-specific patterns and disagree
        (endless-sky's images/land/fields1* also matches fields10-sfiera@2x.jpg, which
        images/land/*-sfiera* gives CC-BY-SA-4.0), all of their licences apply.
    A licence that stays unknown, or an empty short name, falls back to the package licence.
    """

    def __init__(self, roots: dict[str, str]):
        self.roots = roots
        self.stanzas: dict[str, list[Stanza] | None] = {}

    def _stanzas(self, package: str) -> list[Stanza] | None:
        if package not in self.stanzas:
            path = os.path.join(self.roots[package], "usr/share/doc", package, "copyright")
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    self.stanzas[package] = parse_dep5(f.read())
            except FileNotFoundError:
                self.stanzas[package] = None
        return self.stanzas[package]

    def licence(self, item: Item) -> tuple[str, str]:
        """(licence, how it was found) for one photo."""
        origin = item.origin
        stanzas = self._stanzas(origin.package) or []
        path = item.licence_path
        if origin.licence_root and path.startswith(origin.licence_root):
            path = path[len(origin.licence_root):]
        stem, _ = os.path.splitext(path)
        paths = [path] + [stem + suffix for suffix in origin.upstream_suffixes]

        matches = []                                   # (stanza, matched file-specifically)
        for stanza in stanzas:
            hits = [specific for rx, specific in zip(stanza.patterns, stanza.specific)
                    if any(rx.fullmatch(p) for p in paths)]
            if hits:
                matches.append((stanza, any(hits)))
        if not any(specific for _, specific in matches) and not item.in_container:
            name = os.path.basename(path)
            named = [s for s in stanzas if any(rx and rx.fullmatch(name) for rx in s.file_names)]
            if named and named[-1].licence:
                return named[-1].licence, "copyright, by file name"
        if not matches or not matches[-1][0].licence:
            return origin.licence, "package"
        last, last_specific = matches[-1]
        specific = [stanza.licence for stanza, is_specific in matches if is_specific]
        if last_specific and len(set(specific)) > 1:
            return combined(specific), "copyright, contradicting stanzas"
        return last.licence, "copyright"


def split_of(package: str, source: str) -> str:
    """'test' for a fixed ~TEST_FRACTION of photos, decided by a hash of package and path only."""
    digest = hashlib.sha256(f"{package}:{source}".encode()).digest()
    return "test" if int.from_bytes(digest[:8], "big") < TEST_FRACTION * 2 ** 64 else "train"


# --------------------------------------------------------------------------- output

def write_pool(kept: list[Candidate], resolver: LicenceResolver, outdir: str) -> list[dict]:
    """Write the photos and both manifests; return one row per photo."""
    photos = os.path.join(outdir, "photos")
    os.makedirs(photos, exist_ok=True)
    for stale in os.listdir(photos):         # a rebuild must not leave photos of an older pool
        if re.fullmatch(r"\d{5}\.(jpg|png)", stale):
            os.remove(os.path.join(photos, stale))
    rows = []
    for number, c in enumerate(kept):
        data = c.item.read()
        name = f"{number:05d}." + ("jpg" if c.copy_bytes else "png")
        if c.copy_bytes:
            with open(os.path.join(photos, name), "wb") as f:
                f.write(data)
        else:
            with Image.open(io.BytesIO(data)) as im:
                to_rgb(im).save(os.path.join(photos, name))
        licence, basis = resolver.licence(c.item)
        rows.append(dict(name=name, w=c.width, h=c.height, package=c.item.origin.package,
                         source=c.item.source, licence=licence, basis=basis,
                         split=split_of(c.item.origin.package, c.item.source)))
    with open(os.path.join(outdir, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write("file\tw\th\tpackage\tsource\tlicense\tsplit\n")
        for r in rows:
            f.write(f"photos/{r['name']}\t{r['w']}\t{r['h']}\t{r['package']}\t{r['source']}"
                    f"\t{r['licence']}\t{r['split']}\n")
    with open(os.path.join(outdir, "licences.tsv"), "w", encoding="utf-8") as f:
        f.write("# NAME\tLICENCE\tSOURCE\tSPLIT  (for: cmedit-train pack PHOTOS OUT --manifest THIS)\n")
        for r in rows:
            f.write(f"{r['name']}\t{r['licence']}\t{r['package']}: {r['source']}\t{r['split']}\n")
    return rows


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workdir", help="downloads (debs/) and unpacked packages (x/) go here")
    parser.add_argument("outdir", help="photos/, manifest.tsv and licences.tsv go here")
    parser.add_argument("--no-download", action="store_true", help="use only .debs already in WORKDIR/debs")
    parser.add_argument("--lite", action="store_true", help="leave out the five largest packages")
    args = parser.parse_args()

    sources = [s for s in SOURCES if s.lite or not args.lite]
    roots = fetch_packages(sources, args.workdir, download=not args.no_download)

    candidates = []
    for source in sources:
        found = list(measure(package_items(source, roots[source.package])))
        log(f"{source.package}: {len(found)} candidates")
        candidates += found
    kept, dropped = select(candidates)
    rows = write_pool(kept, LicenceResolver(roots), args.outdir)

    log(f"{len(candidates)} candidates -> {len(rows)} photos in {args.outdir}/photos "
        f"(dropped: {', '.join(f'{n} {why}' for why, n in sorted(dropped.items()))})")
    log(f"held out for testing: {sum(r['split'] == 'test' for r in rows)}")
    log("licences (how found):")
    for (licence, basis), n in collections.Counter((r["licence"], r["basis"]) for r in rows).most_common():
        log(f"  {n:4d}  {licence}  ({basis})")


if __name__ == "__main__":
    main()
