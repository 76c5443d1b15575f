//! The 52-bit geohash behind the GEO commands, and the geometry of a search (Redis:
//! `geohash.c`, `geohash_helper.c`, the helpers at the top of `geo.c`).
//!
//! A geo "set" is an ordinary sorted set whose scores are geohashes: this module turns a
//! longitude/latitude into that score and back, measures distances, and works out which score
//! ranges a radius or box search must read. It knows nothing about keys or replies; the
//! commands live in `src/command/geo.rs`.
//!
//! # The encoding
//!
//! The world (longitude -180..180, latitude -85.05112878..85.05112878: the limits of the Web
//! Mercator projection, so the poles cannot be stored) is split in two along each axis, 26
//! times. After `step` splits a coordinate is a `step`-bit integer, its cell number along that
//! axis: `offset = (coord - min) / (max - min) * 2^step`, truncated. The two integers are then
//! *interleaved*, longitude bits in the odd positions and latitude bits in the even ones:
//!
//! ```text
//!   longitude cell  1 0 1            interleaved (lon, lat, lon, lat, ...)
//!   latitude cell    0 1 1     ->    1 0  0 1  1 1   =  0b100111
//! ```
//!
//! Each pair of bits picks one quadrant of the current cell, so a hash with `2 * step` bits
//! names a cell, and every point inside that cell has a 52-bit hash that *starts* with those
//! bits. A cell is therefore one contiguous score range of the sorted set:
//! `[hash << (52 - 2 step), (hash + 1) << (52 - 2 step))`. At step 26 a cell is about 0.6 m
//! wide, and 52 bits is exactly what a double's mantissa holds, so the score is exact.
//!
//! Decoding a score gives back the cell, and Redis reports its *centre*; GEOPOS of a point
//! added at (13.361389, 38.115556) is therefore (13.36138933897018433, 38.11555639549629859).
//!
//! # Searching an area
//!
//! A radius or box search picks the step whose cells are at least as large as the search
//! (`estimate_steps_by_radius`: halve the Mercator width until it is below the radius), encodes
//! the centre at that step, and reads the centre cell plus its eight neighbours — nine score
//! ranges that together cover the whole search area. Neighbours are found on the interleaved
//! bits directly: adding one to the longitude bits alone (with the latitude bits masked out
//! and carries allowed to ripple through them) moves one cell east. If a neighbour cell does
//! not reach the edge of the bounding box, the step is lowered once (cells double); cells
//! entirely outside the bounding box are skipped. Every point read is then tested exactly
//! (haversine distance for a radius, per-axis distances for a box).
//!
//! # Distance
//!
//! The haversine great-circle formula on a sphere of radius 6372797.560856 m (Redis's "quadratic
//! mean" Earth radius). When both longitudes are equal it short-cuts to the latitude difference.
//!
//! All arithmetic here repeats Redis's operation for operation (the same casts, the same order
//! of floating-point operations), because replies print 17 significant digits and any
//! reordering would change the last ones.

/// Bits per axis in a stored score (26 * 2 = 52).
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the width of the Web Mercator plane, in metres.
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// A geohash of `2 * step` bits. The all-zero value (step 0) means "no cell" (a neighbour
/// excluded from a search).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    pub fn is_zero(self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

/// An interval of one coordinate.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

impl Range {
    fn is_zero(self) -> bool {
        self.min == 0.0 && self.max == 0.0
    }
}

/// The ranges the stored scores use.
pub const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
pub const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// The cell a hash names.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Area {
    pub hash: HashBits,
    pub longitude: Range,
    pub latitude: Range,
}

/// Spreads the 32 bits of `x` to the even positions and those of `y` to the odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse of [`interleave64`]: the even bits in the low half, the odd bits in the high.
fn deinterleave64(interleaved: u64) -> u64 {
    fn gather(v: u64) -> u64 {
        let mut v = v & 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    gather(interleaved) | (gather(interleaved >> 1) << 32)
}

/// The cell of (`longitude`, `latitude`) at `step` within the given ranges, or None outside
/// the storable world or the ranges (Redis: `geohashEncode`).
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step > 32 || step == 0 || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let outside = |v: f64, min: f64, max: f64| v > max || v < min;
    if outside(longitude, LONG_MIN, LONG_MAX)
        || outside(latitude, LAT_MIN, LAT_MAX)
        || outside(latitude, lat_range.min, lat_range.max)
        || outside(longitude, long_range.min, long_range.max)
    {
        return None;
    }
    let scale = (1u64 << step) as f64;
    let lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min) * scale;
    let long_offset = (longitude - long_range.min) / (long_range.max - long_range.min) * scale;
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// [`encode`] in the ranges scores are stored with.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

/// The cell a hash names (Redis: `geohashDecode`).
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() || lat_range.is_zero() || long_range.is_zero() {
        return None;
    }
    let separated = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = separated as u32;
    let ilono = (separated >> 32) as u32;
    // `1ull << step` as C computes it (shift counts are masked to 6 bits).
    let cells = (1u64 << (hash.step & 63)) as f64;
    // The "+ 1" is 32-bit arithmetic in Redis, and wraps for the last cell of a 32-bit axis.
    let edge = |i: u32, min: f64, scale: f64| min + (i as f64 / cells) * scale;
    Some(Area {
        hash,
        latitude: Range {
            min: edge(ilato, lat_range.min, lat_scale),
            max: edge(ilato.wrapping_add(1), lat_range.min, lat_scale),
        },
        longitude: Range {
            min: edge(ilono, long_range.min, long_scale),
            max: edge(ilono.wrapping_add(1), long_range.min, long_scale),
        },
    })
}

/// The centre of a cell, clamped to the storable world: what GEOPOS reports.
fn area_center(area: &Area) -> [f64; 2] {
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    [lon, lat]
}

/// A C `(uint64_t)` cast of a double as x86-64 compiles it: values below 2^63 go through a
/// signed conversion (so -5.0 wraps to 2^64 - 5), larger ones are offset by 2^63 first, and
/// anything the hardware cannot convert (NaN, infinities, beyond range) yields 2^63 or 0.
pub fn c_double_to_u64(x: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    // Written as gcc branches: NaN (unordered) takes the signed path.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(x >= TWO_63) {
        c_double_to_i64(x) as u64
    } else {
        (c_double_to_i64(x - TWO_63) as u64) ^ (1 << 63)
    }
}

/// A C `(long long)` cast of a double on x86-64 (`cvttsd2si`): truncation, and the "integer
/// indefinite" value i64::MIN for NaN and anything out of range.
pub fn c_double_to_i64(x: f64) -> i64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !(-TWO_63..TWO_63).contains(&x) {
        i64::MIN
    } else {
        x as i64
    }
}

/// The (longitude, latitude) a stored score stands for (Redis: `decodeGeohash`). Any score
/// decodes; a score no GEOADD produced decodes to some clamped point, as in Redis.
pub fn decode_score(score: f64) -> Option<[f64; 2]> {
    let hash = HashBits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    decode(WGS84_LONG, WGS84_LAT, hash).map(|area| area_center(&area))
}

/// A hash's bits moved to the top of 52 (Redis: `geohashAlign52Bits`): the score of the first
/// point of its cell.
pub fn align_52bits(hash: HashBits) -> u64 {
    hash.bits
        .wrapping_shl(52u32.wrapping_sub(hash.step as u32 * 2))
}

/// The sorted-set score for a point at full precision, or None outside the storable world.
pub fn score_of(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(align_52bits)
}

/// The 11-character standard geohash of a stored score (Redis: `geohashCommand`). Scores use
/// latitudes -85..85; the standard uses -90..90, so the point is decoded and encoded again.
/// The standard's last character would need 55 bits; Redis fills it with '0'.
pub fn standard_geohash(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = decode_score(score)?;
    let standard_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    // Redis ignores a failed encode and prints the zero hash it left behind.
    let bits = encode(WGS84_LONG, standard_lat, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut text = [b'0'; 11];
    for (i, c) in text.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    Some(text)
}

/// The interleaved longitude (odd) and latitude (even) bit positions.
const LON_BITS: u64 = 0xaaaa_aaaa_aaaa_aaaa;
const LAT_BITS: u64 = 0x5555_5555_5555_5555;

/// Moves a cell `d` cells east (d > 0) or west (d < 0), wrapping around the world.
fn move_x(hash: &mut HashBits, d: i8) {
    step_interleaved(hash, d, LON_BITS, LAT_BITS);
}

/// Moves a cell north (d > 0) or south (d < 0).
fn move_y(hash: &mut HashBits, d: i8) {
    step_interleaved(hash, d, LAT_BITS, LON_BITS);
}

/// Adds or subtracts one to the coordinate held in the `own` bit positions of an interleaved
/// hash, leaving the `other` coordinate alone (Redis: `geohash_move_x` / `geohash_move_y`).
fn step_interleaved(hash: &mut HashBits, d: i8, own: u64, other: u64) {
    if d == 0 {
        return;
    }
    let mine = hash.bits & own;
    let theirs = hash.bits & other;
    let shift = 64 - hash.step as u32 * 2;
    // Ones in the other coordinate's positions let a carry (or borrow) run through them.
    let zz = other.wrapping_shr(shift);
    let mine = if d > 0 {
        mine.wrapping_add(zz.wrapping_add(1))
    } else {
        (mine | zz).wrapping_sub(zz.wrapping_add(1))
    };
    hash.bits = (mine & own.wrapping_shr(shift)) | theirs;
}

/// The eight cells around a cell, in the order a search reads them: north, south, east, west,
/// north-east, north-west, south-east, south-west.
pub fn neighbors(hash: HashBits) -> [HashBits; 8] {
    const MOVES: [(i8, i8); 8] = [
        (0, 1),
        (0, -1),
        (1, 0),
        (-1, 0),
        (1, 1),
        (-1, 1),
        (1, -1),
        (-1, -1),
    ];
    MOVES.map(|(dx, dy)| {
        let mut h = hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    })
}

/// The step (bits per axis) whose cells are about as large as a search of `range_meters`
/// around latitude `lat` (Redis: `geohashEstimateStepsByRadius`).
pub fn estimate_steps_by_radius(range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut range_meters = range_meters;
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    // Meridians converge towards the poles: use larger cells there.
    if lat.abs() > 66.0 {
        step -= 1;
        if lat.abs() > 80.0 {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// The area a search covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    /// A circle of this radius (in the search's unit).
    Radius(f64),
    /// A box of this width and height (in the search's unit), axis-aligned.
    Box { width: f64, height: f64 },
}

/// A search: its centre (longitude, latitude), its shape, and the unit's size in metres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shape {
    pub center: [f64; 2],
    pub conversion: f64,
    pub kind: ShapeKind,
}

impl Shape {
    /// The bounding box of the search: [min_lon, min_lat, max_lon, max_lat] (Redis:
    /// `geohashBoundingBox`). The longitude span is measured at the edge nearer the pole, where
    /// a degree is shortest.
    pub fn bounding_box(&self) -> [f64; 4] {
        let [longitude, latitude] = self.center;
        let (height, width) = match self.kind {
            ShapeKind::Radius(r) => (self.conversion * r, self.conversion * r),
            ShapeKind::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            longitude - long_delta,
            latitude - lat_delta,
            longitude + long_delta,
            latitude + lat_delta,
        ]
    }

    /// The nine cells a search reads, centre first then [`neighbors`]' order; excluded ones
    /// are zero (Redis: `geohashCalculateAreasByShapeWGS84`).
    pub fn covering_cells(&self) -> [HashBits; 9] {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounding_box();
        let [longitude, latitude] = self.center;
        let radius_meters = match self.kind {
            ShapeKind::Radius(r) => r,
            ShapeKind::Box { width, height } => {
                ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
            }
        } * self.conversion;
        let mut steps = estimate_steps_by_radius(radius_meters, latitude);
        let cells_at = |steps: u8| {
            let hash = encode(WGS84_LONG, WGS84_LAT, longitude, latitude, steps)
                .unwrap_or(HashBits { bits: 0, step: 0 });
            let area = decode(WGS84_LONG, WGS84_LAT, hash).unwrap_or_default();
            (hash, neighbors(hash), area)
        };
        let (mut hash, mut around, mut area) = cells_at(steps);
        // A neighbour that stops short of the bounding box: the cells are too small.
        let area_of = |h: HashBits| decode(WGS84_LONG, WGS84_LAT, h).unwrap_or_default();
        let [north, south, east, west] = [around[0], around[1], around[2], around[3]].map(area_of);
        let decrease_step = north.latitude.max < max_lat
            || south.latitude.min > min_lat
            || east.longitude.max < max_lon
            || west.longitude.min > min_lon;
        if steps > 1 && decrease_step {
            steps -= 1;
            (hash, around, area) = cells_at(steps);
        }
        // Drop whole rows and columns of cells that lie outside the bounding box.
        if steps >= 2 {
            const ZERO: HashBits = HashBits { bits: 0, step: 0 };
            let [n, s, e, w, ne, nw, se, sw] = &mut around;
            if area.latitude.min < min_lat {
                (*s, *sw, *se) = (ZERO, ZERO, ZERO);
            }
            if area.latitude.max > max_lat {
                (*n, *ne, *nw) = (ZERO, ZERO, ZERO);
            }
            if area.longitude.min < min_lon {
                (*w, *sw, *nw) = (ZERO, ZERO, ZERO);
            }
            if area.longitude.max > max_lon {
                (*e, *se, *ne) = (ZERO, ZERO, ZERO);
            }
        }
        let mut cells = [hash; 9];
        cells[1..].copy_from_slice(&around);
        cells
    }

    /// Is the point inside the search area? Returns its distance from the centre, in metres
    /// (Redis: `geoWithinShape`).
    pub fn distance_if_within(&self, lon: f64, lat: f64) -> Option<f64> {
        let [x1, y1] = self.center;
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(x1, y1, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            ShapeKind::Box { width, height } => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                // The latitude test is the cheaper one, so it goes first.
                if lat_distance(lat, y1) > height_m / 2.0 {
                    return None;
                }
                if distance(lon, lat, x1, lat) > width_m / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, lon, lat))
            }
        }
    }
}

/// The score range `[min, max)` holding exactly the points of a cell (Redis:
/// `scoresOfGeoHashBox`).
pub fn score_range(hash: HashBits) -> (u64, u64) {
    let next = HashBits {
        bits: hash.bits.wrapping_add(1),
        step: hash.step,
    };
    (align_52bits(hash), align_52bits(next))
}

/// The distance along a meridian between two latitudes, in metres.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// The great-circle distance in metres between two points (Redis: `geohashGetDistance`).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values below were read from redis-server 7.0.15 (GEOADD then ZSCORE / GEOPOS /
    // GEOHASH / GEODIST).

    #[test]
    fn scores_match_redis() {
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        assert_eq!(score_of(-180.0, -85.05112878), Some(0));
        assert_eq!(score_of(180.0, 85.05112878), Some(13510798882111488));
        assert_eq!(score_of(0.0, 0.0), Some(3377699720527872));
        assert_eq!(score_of(180.1, 0.0), None);
        assert_eq!(score_of(0.0, 85.06), None);
    }

    #[test]
    fn decoding_gives_the_cell_centre() {
        let [lon, lat] = decode_score(3479099956230698.0).unwrap();
        assert_eq!(format!("{lon:.17}"), "13.36138933897018433");
        assert_eq!(format!("{lat:.17}"), "38.11555639549629859");
    }

    #[test]
    fn standard_geohash_matches_redis() {
        assert_eq!(
            &standard_geohash(3479099956230698.0).unwrap(),
            b"sqc8b49rny0"
        );
        assert_eq!(
            &standard_geohash(3479447370796909.0).unwrap(),
            b"sqdtr74hyu0"
        );
    }

    #[test]
    fn distance_matches_redis() {
        let [a, b] = [
            decode_score(3479099956230698.0).unwrap(),
            decode_score(3479447370796909.0).unwrap(),
        ];
        let d = distance(a[0], a[1], b[0], b[1]);
        assert_eq!(format!("{d:.4}"), "166274.1516");
    }

    #[test]
    fn interleaving_round_trips() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0xdead_beef, 0x1234_5678),
            (u32::MAX, 7),
        ] {
            let sep = deinterleave64(interleave64(x, y));
            assert_eq!((sep as u32, (sep >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn neighbours_are_adjacent_cells() {
        let h = encode_wgs84(10.0, 10.0, 10).unwrap();
        let a = decode(WGS84_LONG, WGS84_LAT, h).unwrap();
        let [n, s, e, w, ..] = neighbors(h).map(|c| decode(WGS84_LONG, WGS84_LAT, c).unwrap());
        assert_eq!(n.latitude.min, a.latitude.max);
        assert_eq!(s.latitude.max, a.latitude.min);
        assert_eq!(e.longitude.min, a.longitude.max);
        assert_eq!(w.longitude.max, a.longitude.min);
        assert_eq!(n.longitude, a.longitude);
    }

    #[test]
    fn step_estimate_follows_radius_and_latitude() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(1000.0, 0.0), 14);
        assert_eq!(estimate_steps_by_radius(1000.0, 70.0), 13);
        assert_eq!(estimate_steps_by_radius(1000.0, 85.0), 12);
        assert_eq!(estimate_steps_by_radius(f64::INFINITY, 0.0), 1);
        assert_eq!(estimate_steps_by_radius(1e-300, 0.0), 26);
    }

    #[test]
    fn c_casts_follow_x86() {
        assert_eq!(c_double_to_u64(-5.0), u64::MAX - 4);
        assert_eq!(c_double_to_u64(f64::NAN), 1 << 63);
        assert_eq!(c_double_to_u64(1e300), 0);
        assert_eq!(c_double_to_u64(1e19), 10_000_000_000_000_000_000);
        assert_eq!(c_double_to_i64(1e300), i64::MIN);
    }
}
