/* Replays fuzz inputs through a target without libFuzzer: each argument is a file or a folder
 * of files. Prints one TAP line per folder or file given. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (n == cap && !(buf = realloc(buf, cap = cap ? cap * 2 : 65536)))
            return -1;
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int failed = 0;
    printf("1..%d\n", argc - 1);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int count = 0, bad = stat(argv[i], &st) != 0;
        if (!bad && S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                bad |= replay_file(path) != 0;
                count++;
            }
            if (d)
                closedir(d);
            bad |= count == 0;
        } else if (!bad) {
            bad = replay_file(argv[i]) != 0;
            count = 1;
        }
        printf("%s %d - %s (%d inputs)\n", bad ? "not ok" : "ok", i, argv[i], count);
        failed |= bad;
    }
    return failed;
}
