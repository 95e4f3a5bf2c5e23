/* LD_PRELOAD shim for the Janus interop tests.
 *
 * Janus's ICE setup walks getifaddrs() and skips every interface flagged IFF_LOOPBACK, whatever
 * ice_enforce_list says; libnice then falls back to gathering on every other interface. The tests
 * must keep every packet on 127.0.0.0/8, so this shim clears the loopback flag on `lo`: Janus then
 * takes `lo` like any interface, `ice_enforce_list = "lo"` keeps only it, and libnice gathers on
 * 127.0.0.1 alone. Nothing else about the interfaces changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
    static int (*real_getifaddrs)(struct ifaddrs **) = NULL;
    if (real_getifaddrs == NULL) {
        real_getifaddrs = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
        if (real_getifaddrs == NULL) {
            return -1;
        }
    }
    int result = real_getifaddrs(ifap);
    if (result != 0) {
        return result;
    }
    for (struct ifaddrs *entry = *ifap; entry != NULL; entry = entry->ifa_next) {
        entry->ifa_flags &= ~(unsigned int)IFF_LOOPBACK;
    }
    return 0;
}
