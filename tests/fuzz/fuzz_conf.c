/* libFuzzer harness for the ntp.conf parser: load, dump, free.
 *
 * includefile stays live here: the parser refuses non-regular files and
 * caps sizes, so the worst a fuzzed include can do is fail to open or
 * parse some file as ntp.conf, which must not crash either.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sink(void *arg, const char *line)
{
    size_t *total = arg;
    *total += strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config *cfg = NULL;
    char err[CONF_ERR_LEN];
    size_t total = 0;

    if (conf_load_string("fuzz.conf", (const char *)data, size, &cfg, err, sizeof err) == 0) {
        conf_dump(cfg, sink, &total);
        conf_free(cfg);
    } else if (cfg || strlen(err) == 0) {
        __builtin_trap();   /* a failure must leave no config and say why */
    }
    return 0;
}
