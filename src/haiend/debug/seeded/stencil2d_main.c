/* Driver of stencil2d_scratch.c: stencil2d IN OUT NY NX STEPS reads u0 (NY x NX float64 values)
 * from the file IN, runs the kernel and writes the grid it returns to the file OUT.
 * Files are read and written with read(2) and write(2), not stdio: stdio's buffers are heap
 * blocks too, and one freed before the kernel runs would hand it memory holding old data. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int stencil2d(const double *u0, long ny, long nx, long steps, double *out);

static int whole(ssize_t (*io)(int, void *, size_t), int fd, char *bytes, size_t size)
{
    while (size > 0) {
        ssize_t done = io(fd, bytes, size);
        if (done <= 0)
            return -1;
        bytes += done;
        size -= (size_t)done;
    }
    return 0;
}

static ssize_t write_some(int fd, void *bytes, size_t size) { return write(fd, bytes, size); }

int main(int argc, char **argv)
{
    if (argc != 6 || atol(argv[3]) < 1 || atol(argv[4]) < 1 || atol(argv[5]) < 0) {
        fprintf(stderr, "usage: %s IN OUT NY NX STEPS\n", argv[0]);
        return 2;
    }
    long ny = atol(argv[3]), nx = atol(argv[4]), steps = atol(argv[5]);
    size_t size = (size_t)ny * (size_t)nx * sizeof(double);
    double *u0 = malloc(size), *out = malloc(size);
    int in = open(argv[1], O_RDONLY);
    if (u0 == NULL || out == NULL || in < 0 || whole(read, in, (char *)u0, size) != 0) {
        fprintf(stderr, "%s: cannot read %zu bytes from %s\n", argv[0], size, argv[1]);
        return 1;
    }
    close(in);
    if (stencil2d(u0, ny, nx, steps, out) != 0) {
        fprintf(stderr, "%s: the kernel failed\n", argv[0]);
        return 1;
    }
    int result = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (result < 0 || whole(write_some, result, (char *)out, size) != 0 || close(result) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", argv[0], argv[2]);
        return 1;
    }
    free(u0);
    free(out);
    return 0;
}
