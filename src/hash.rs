//! FNV-1a, 64 bits: the one stable hash behind the names and ids we derive from text (a project's
//! store key, a destination's queue, a span's id), the same across builds and releases, unlike
//! std's hasher.

/// FNV-1a over every byte written to it, in order.
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Fnv64 {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of `bytes`.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut hash = Fnv64::default();
    hash.write(bytes);
    hash.finish()
}

/// `<head>-<hash in 16 lower-case hex digits>`: a name that carries its hash (a store key, a
/// queue). Written digit by digit: `format!` costs a hook ten times more.
pub fn named(head: &str, hash: u64) -> String {
    let mut name = String::with_capacity(head.len() + 17);
    name.push_str(head);
    name.push('-');
    for shift in (0..16).rev() {
        name.push(char::from(b"0123456789abcdef"[(hash >> (shift * 4)) as usize & 15]));
    }
    name
}

/// Whether `text` is a hash as names carry it: 16 lower-case hex digits.
pub fn is_hex(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // FNV-1a's published test vectors.
        assert_eq!(fnv64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv64(b"foobar"), 0x8594_4171_f739_67e8);
        assert!(is_hex(&format!("{:016x}", fnv64(b"a"))) && !is_hex("AF63DC4C8601EC8C") && !is_hex("af63"));
        for hash in [0, 1, 0xaf63_dc4c_8601_ec8c, u64::MAX] {
            assert_eq!(named("otlp-logs", hash), format!("otlp-logs-{hash:016x}"));
        }
    }
}
