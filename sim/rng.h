/* sim/rng: the simulator's only source of randomness.
 *
 * xoshiro256** (Blackman & Vigna), seeded through splitmix64. Every
 * random choice in a run comes from a stream derived from the run's seed
 * and a stream label, so one seed replays a run exactly, and adding a
 * server does not reshuffle the noise of the others.
 */
#ifndef CHIME_SIM_RNG_H
#define CHIME_SIM_RNG_H

#include <stdint.h>

struct rng {
    uint64_t s[4];
};

/* A stream for (seed, label): different labels give independent streams. */
void rng_init(struct rng *r, uint64_t seed, uint64_t label);
uint64_t rng_next(struct rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double rng_uniform(struct rng *r);
/* Standard normal (polar Box-Muller; the spare value is discarded so
 * the stream position depends only on the number of calls). */
double rng_normal(struct rng *r);
/* Exponential with the given mean. */
double rng_exp(struct rng *r, double mean);

#endif
