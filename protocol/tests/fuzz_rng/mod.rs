//! The seeded generator the decoder fuzz-style tests share: deterministic,
//! so a failure reproduces, and dependency-free.

/// xorshift64*.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// A valid input with a few bytes changed, cut or extended, or given
    /// an extreme value by `extreme` (the protocol's own idea of a lying
    /// count or length; it leaves inputs too short for one alone).
    pub fn mutate(&mut self, valid: &[u8], extreme: fn(&mut Rng, &mut [u8])) -> Vec<u8> {
        let mut v = valid.to_vec();
        for _ in 0..1 + self.below(3) {
            match self.below(4) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] = self.next() as u8;
                }
                1 => v.truncate(self.below(v.len() + 1)),
                2 => v.push(self.next() as u8),
                0 => {}
                _ => extreme(self, &mut v),
            }
        }
        v
    }
}
