/* sys/clock_table: finding a clock driver by name.
 *
 * The built-in drivers are fixed; a few extra slots let the simulator (or
 * a test) add a driver over its own virtual clock without sys/ knowing
 * about it. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "sys/clock.h"

#define EXTRA_SLOTS 4

static const struct clock_driver *const builtin[] = {
    &clock_driver_linux,
    &clock_driver_none,
};
static const struct clock_driver *extra[EXTRA_SLOTS];

static bool same_name(const struct clock_driver *d, const char *name)
{
    return d && d->name && strcmp(d->name, name) == 0;
}

const struct clock_driver *clock_driver_find(const char *name)
{
    if (name) {
        for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++)
            if (same_name(builtin[i], name))
                return builtin[i];
        for (size_t i = 0; i < EXTRA_SLOTS; i++)
            if (same_name(extra[i], name))
                return extra[i];
    }
    errno = ENOENT;
    return NULL;
}

int clock_driver_register(const struct clock_driver *drv)
{
    if (!drv || !drv->name) {
        errno = EINVAL;
        return -1;
    }
    if (clock_driver_find(drv->name)) {
        errno = EEXIST;
        return -1;
    }
    for (size_t i = 0; i < EXTRA_SLOTS; i++) {
        if (!extra[i]) {
            extra[i] = drv;
            return 0;
        }
    }
    errno = ENOSPC;
    return -1;
}
