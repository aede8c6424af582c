/* Compiled kernels of dedupe's per-document hot loop (optional: dedupe.similarity.bulk falls back to
 * NumPy with the same results when this module was not built).
 *
 * features(): for a chunk of documents given as concatenated unit hashes (token or character
 * hashes) and concatenated content-word hashes (each with offsets), computes per document
 *   - the sorted unique k-gram shingle hashes (same combination as shingle.ngram_hashes),
 *   - the sorted unique content hashes, zero and "common" hashes left out,
 *   - the MinHash values of both sets (datasketch's affine32 scheme, as signature.Signer).
 * Every array is passed through the buffer protocol; the caller allocates the outputs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__)) && defined(__linux__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

static const uint64_t MULTS_BASE = 0x9E3779B97F4A7C15ULL;
#define MAX_K 32

static inline uint64_t fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint32_t fmix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6BU;
    h ^= h >> 13;
    h *= 0xC2B2AE35U;
    h ^= h >> 16;
    return h;
}

/* --- sorting of uint64 (quicksort, Hoare partition, insertion sort below 16, heapsort past a depth
 * limit so that no input is quadratic) --- */

/* Insertion sort that gives up after ``budget`` moves (a negative budget: never); returns 0 if it
 * gave up, leaving a permutation of the input. */
static int insertion_sort_within(uint64_t *a, Py_ssize_t n, Py_ssize_t budget) {
    for (Py_ssize_t i = 1; i < n; i++) {
        uint64_t v = a[i];
        Py_ssize_t j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
            if (budget >= 0 && --budget < 0) {
                a[j + 1] = v;
                return 0;
            }
        }
        a[j + 1] = v;
    }
    return 1;
}

static void insertion_sort(uint64_t *a, Py_ssize_t n) { insertion_sort_within(a, n, -1); }

static void sift_down(uint64_t *a, Py_ssize_t root, Py_ssize_t n) {
    for (;;) {
        Py_ssize_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && a[child + 1] > a[child]) child++;
        if (a[root] >= a[child]) return;
        uint64_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heap_sort(uint64_t *a, Py_ssize_t n) {
    for (Py_ssize_t i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
    for (Py_ssize_t end = n - 1; end > 0; end--) {
        uint64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

static void sort_u64(uint64_t *a, Py_ssize_t n, int depth) {
    while (n > 16) {
        if (depth-- <= 0) {
            heap_sort(a, n);
            return;
        }
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        Py_ssize_t i = -1, j = n;
        for (;;) {
            do i++; while (a[i] < pivot);
            do j--; while (a[j] > pivot);
            if (i >= j) break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        /* a[0..j] <= pivot <= a[j+1..n-1]: recurse into the smaller side, loop on the larger. */
        Py_ssize_t left = j + 1;
        if (left < n - left) {
            sort_u64(a, left, depth);
            a += left;
            n -= left;
        } else {
            sort_u64(a + left, n - left, depth);
            n = left;
        }
    }
    insertion_sort(a, n);
}

/* Sorts hashes (values spread evenly over 64 bits): an LSD radix sort on the top two bytes (two
 * passes; all histograms counted in one read), which leaves runs of values that share them (one
 * pair or so for a few hundred values), then an insertion sort that orders those runs. If the
 * runs turn out long (values that are no hashes), the insertion sort stops after ``8 n`` moves and
 * the quicksort finishes: never quadratic, always sorted. */
static void hash_sort_u64(uint64_t *a, uint64_t *tmp, Py_ssize_t n) {
    Py_ssize_t hist[2][256];
    memset(hist, 0, sizeof(hist));
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t v = a[i];
        hist[0][(v >> 48) & 0xFF]++;
        hist[1][v >> 56]++;
    }
    uint64_t *src = a, *dst = tmp;
    for (int d = 0; d < 2; d++) {
        Py_ssize_t *h = hist[d];
        int shift = 48 + 8 * d;
        if (h[(src[0] >> shift) & 0xFF] == n) continue;
        Py_ssize_t sum = 0;
        for (int c = 0; c < 256; c++) {
            Py_ssize_t t = h[c];
            h[c] = sum;
            sum += t;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t v = src[i];
            dst[h[(v >> shift) & 0xFF]++] = v;
        }
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof(uint64_t));
    if (!insertion_sort_within(a, n, 8 * n)) sort_u64(a, n, 64);
}

/* Sorts a[0..n) and removes repeats; returns the new length. tmp holds n values. */
static Py_ssize_t sort_unique(uint64_t *a, uint64_t *tmp, Py_ssize_t n) {
    if (n == 0) return 0;
    if (n > 64 && tmp != NULL) hash_sort_u64(a, tmp, n);
    else sort_u64(a, n, 64);
    Py_ssize_t m = 1;
    for (Py_ssize_t i = 1; i < n; i++)
        if (a[i] != a[m - 1]) a[m++] = a[i];
    return m;
}

/* --- MinHash (affine32): h32 = fmix32(fold(h)); value_p = min over the set of a_p * h32 + b_p --- */

MULTIVERSION
static void minhash(const uint64_t *set, Py_ssize_t n, const uint32_t *a, const uint32_t *b, Py_ssize_t perm,
                    uint32_t *out) {
    for (Py_ssize_t p = 0; p < perm; p++) out[p] = 0xFFFFFFFFU;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t h = set[i];
        uint32_t v = fmix32((uint32_t)((h ^ (h >> 32)) & 0xFFFFFFFFULL));
        for (Py_ssize_t p = 0; p < perm; p++) {
            uint32_t x = a[p] * v + b[p];
            out[p] = x < out[p] ? x : out[p];
        }
    }
}

/* --- buffer helpers --- */

typedef struct {
    Py_buffer view;
    int held;
} Buf;

/* A C-contiguous buffer of items of ``itemsize`` bytes, integers (kind 'i') or floats ('f'). */
static int get_buf(PyObject *obj, Buf *buf, Py_ssize_t itemsize, char kind, int writable, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &buf->view, flags) < 0) return -1;
    buf->held = 1;
    const char *format = buf->view.format ? buf->view.format : "B";
    char code = format[0] && strchr("<>=@!", format[0]) ? format[1] : format[0];
    int ok = buf->view.itemsize == itemsize && code != 0 && format[strlen(format) - 1] == code &&
             strchr(kind == 'f' ? "efd" : "bBhHiIlLqQnN", code) != NULL;
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd-byte %s items, got format '%s'", name, itemsize,
                     kind == 'f' ? "float" : "integer", format);
        return -1;
    }
    return 0;
}

static void release(Buf *bufs, int n) {
    for (int i = 0; i < n; i++)
        if (bufs[i].held) PyBuffer_Release(&bufs[i].view);
}

/* get_buf for each of ``n`` objects (the per-buffer specs in parallel arrays); on failure the
 * buffers already taken are released and -1 is returned with the exception set. */
static int get_bufs(PyObject **objs, Buf *bufs, int n, const Py_ssize_t *sizes, const char *kinds,
                    const int *writable, const char *const *names) {
    memset(bufs, 0, (size_t)n * sizeof(Buf));
    for (int i = 0; i < n; i++) {
        if (get_buf(objs[i], &bufs[i], sizes[i], kinds[i], writable[i], names[i]) < 0) {
            release(bufs, n);
            return -1;
        }
    }
    return 0;
}

#define N_BUFS 12

static PyObject *features(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[N_BUFS + 2] = {NULL};
    Py_ssize_t k;
    if (!PyArg_ParseTuple(args, "OOnOOOOOOOOOO|OO", &objs[0], &objs[1], &k, &objs[2], &objs[3], &objs[4], &objs[5],
                          &objs[6], &objs[7], &objs[8], &objs[9], &objs[10], &objs[11], &objs[12], &objs[13]))
        return NULL;
    /* With the tables (hashes, content): units and content hold token ids (int64), whose unit hash
     * and content hash are looked up in them here (what similarity.shingle.ids_units gives). */
    int gather = objs[12] != NULL;
    if (gather != (objs[13] != NULL)) {
        PyErr_SetString(PyExc_TypeError, "give both tables or neither");
        return NULL;
    }
    Buf tables[2];
    if (gather) {
        static const Py_ssize_t tsizes[2] = {8, 8};
        static const int twritable[2] = {0, 0};
        static const char tkinds[2] = {'i', 'i'};
        static const char *tnames[2] = {"hashes", "content_table"};
        if (get_bufs(objs + 12, tables, 2, tsizes, tkinds, twritable, tnames) < 0) return NULL;
    }
    Buf bufs[N_BUFS];
    static const char *names[N_BUFS] = {"units", "unit_offsets", "content", "content_offsets", "common", "a", "b",
                                        "out_shingles", "out_content", "counts", "shingle_sigs", "content_sigs"};
    static const Py_ssize_t sizes[N_BUFS] = {8, 8, 8, 8, 8, 4, 4, 8, 8, 8, 4, 4};
    static const int writable[N_BUFS] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1};
    static const char kinds[N_BUFS] = {'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i'};
    if (get_bufs(objs, bufs, N_BUFS, sizes, kinds, writable, names) < 0) {
        if (gather) release(tables, 2);
        return NULL;
    }
    const uint64_t *units = bufs[0].view.buf, *content = bufs[2].view.buf, *common = bufs[4].view.buf;
    const uint64_t *unit_table = gather ? tables[0].view.buf : NULL, *content_table = gather ? tables[1].view.buf : NULL;
    Py_ssize_t n_table = gather ? tables[0].view.len / 8 : 0;
    const int64_t *uoff = bufs[1].view.buf, *coff = bufs[3].view.buf;
    const uint32_t *a = bufs[5].view.buf, *b = bufs[6].view.buf;
    uint64_t *out_sh = bufs[7].view.buf, *out_ct = bufs[8].view.buf;
    int64_t *counts = bufs[9].view.buf;
    uint32_t *sh_sigs = bufs[10].view.buf, *ct_sigs = bufs[11].view.buf;

    Py_ssize_t n_units = bufs[0].view.len / 8, n_content = bufs[2].view.len / 8, n_common = bufs[4].view.len / 8;
    Py_ssize_t perm = bufs[5].view.len / 4, n_docs = bufs[1].view.len / 8 - 1;
    const char *bad = NULL;
    if (n_docs < 0 || bufs[3].view.len != bufs[1].view.len) bad = "offsets must hold one more value than documents";
    else if (k < 1 || k > MAX_K) bad = "k must be in [1, 32]";
    else if (bufs[6].view.len != bufs[5].view.len) bad = "a and b differ in length";
    else if (bufs[7].view.len / 8 < n_units || bufs[8].view.len / 8 < n_content) bad = "outputs too small";
    else if (bufs[9].view.len / 8 < 2 * n_docs) bad = "counts too small";
    else if (bufs[10].view.len / 4 < n_docs * perm || bufs[11].view.len / 4 < n_docs * perm) bad = "signatures too small";
    else if (uoff[0] != 0 || uoff[n_docs] != n_units || coff[0] != 0 || coff[n_docs] != n_content)
        bad = "offsets do not span their arrays";
    for (Py_ssize_t d = 0; !bad && d < n_docs; d++)
        if (uoff[d + 1] < uoff[d] || coff[d + 1] < coff[d]) bad = "offsets must not decrease";
    for (Py_ssize_t i = 1; !bad && i < n_common; i++)
        if (common[i] <= common[i - 1]) bad = "common must be sorted and unique";
    if (!bad && gather && tables[1].view.len != tables[0].view.len) bad = "the tables differ in length";
    for (Py_ssize_t i = 0; !bad && gather && i < n_units; i++)
        if ((int64_t)units[i] < 0 || (int64_t)units[i] >= n_table) bad = "token id out of range";
    for (Py_ssize_t i = 0; !bad && gather && i < n_content; i++)
        if ((int64_t)content[i] < 0 || (int64_t)content[i] >= n_table) bad = "token id out of range";
    if (bad) {
        if (gather) release(tables, 2);
        release(bufs, N_BUFS);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }

    uint64_t mults[MAX_K];
    for (int j = 0; j < MAX_K; j++) mults[j] = MULTS_BASE * (uint64_t)(2 * j + 1);

    Py_ssize_t longest = 0;
    for (Py_ssize_t d = 0; d < n_docs; d++) {
        if (uoff[d + 1] - uoff[d] > longest) longest = uoff[d + 1] - uoff[d];
        if (coff[d + 1] - coff[d] > longest) longest = coff[d + 1] - coff[d];
    }
    /* without memory, sorting falls back to the in-place quicksort (same result) */
    uint64_t *tmp = longest > 0 ? PyMem_RawMalloc((size_t)longest * sizeof(uint64_t)) : NULL;
    uint64_t *looked_up = NULL; /* a document's unit hashes, looked up */
    /* The common words as a set (open addressing on the values mixed, 0 never asked for): a binary
     * search per content word was a fifth of this kernel's time, most of it mispredicted branches. */
    Py_ssize_t common_mask = 0;
    while (common_mask + 1 < 2 * n_common) common_mask = 2 * common_mask + 1;
    uint64_t *common_set = n_common > 0 ? PyMem_RawCalloc((size_t)common_mask + 1, sizeof(uint64_t)) : NULL;
    if ((gather && longest > 0 && !(looked_up = PyMem_RawMalloc((size_t)longest * sizeof(uint64_t)))) ||
        (n_common > 0 && !common_set)) {
        PyMem_RawFree(tmp);
        PyMem_RawFree(looked_up);
        PyMem_RawFree(common_set);
        if (gather) release(tables, 2);
        release(bufs, N_BUFS);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n_common; i++) {
        if (common[i] == 0) continue;
        Py_ssize_t at = (Py_ssize_t)fmix64(common[i]) & common_mask;
        while (common_set[at] != 0) at = (at + 1) & common_mask;
        common_set[at] = common[i];
    }

    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t sh_pos = 0, ct_pos = 0;
    for (Py_ssize_t d = 0; d < n_docs; d++) {
        Py_ssize_t start = uoff[d], n = uoff[d + 1] - start;
        const uint64_t *u = units + start;
        if (gather) {
            for (Py_ssize_t i = 0; i < n; i++) looked_up[i] = unit_table[units[start + i]];
            u = looked_up;
        }
        uint64_t *sh = out_sh + sh_pos;
        Py_ssize_t m = 0;
        if (n > 0) {
            Py_ssize_t kk = k < n ? k : n;
            m = n - kk + 1;
            for (Py_ssize_t i = 0; i < m; i++) {
                uint64_t acc = 0;
                for (Py_ssize_t j = 0; j < kk; j++) acc += u[i + j] * mults[j];
                sh[i] = fmix64(acc + (uint64_t)kk);
            }
            m = sort_unique(sh, tmp, m);
        }
        minhash(sh, m, a, b, perm, sh_sigs + d * perm);

        uint64_t *ct = out_ct + ct_pos;
        Py_ssize_t c = 0;
        for (Py_ssize_t i = coff[d]; i < coff[d + 1]; i++) {
            uint64_t v = gather ? content_table[content[i]] : content[i];
            if (v != 0) ct[c++] = v;
        }
        c = sort_unique(ct, tmp, c);
        if (n_common > 0) {
            Py_ssize_t kept = 0;
            for (Py_ssize_t i = 0; i < c; i++) {
                uint64_t v = ct[i]; /* never 0 */
                Py_ssize_t at = (Py_ssize_t)fmix64(v) & common_mask;
                while (common_set[at] != 0 && common_set[at] != v) at = (at + 1) & common_mask;
                if (common_set[at] != v) ct[kept++] = v;
            }
            c = kept;
        }
        minhash(ct, c, a, b, perm, ct_sigs + d * perm);
        counts[2 * d] = m;
        counts[2 * d + 1] = c;
        sh_pos += m;
        ct_pos += c;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(tmp);
    PyMem_RawFree(looked_up);
    PyMem_RawFree(common_set);
    if (gather) release(tables, 2);
    release(bufs, N_BUFS);
    Py_RETURN_NONE;
}


/* --- vocabulary: token -> id, for the text of a document given as tokens separated by spaces ---
 * Open addressing on a 64-bit hash of the token's bytes (only used inside this table); the
 * token bytes live in one growing arena. Ids are given in order of first sight; the caller keeps
 * per-id data (stable hashes) in arrays of its own and learns each new token from lookup(). */

/* A slot holds what a lookup needs (hash, length, id and the token's first 8 bytes), so a token of
 * up to 8 bytes (most words) is found without reading the arena: one cache line, not two. */
typedef struct {
    uint64_t hash;
    uint64_t head;  /* token_head: the token's first 8 bytes */
    int64_t offset; /* of the token's bytes in the arena; -1 for an empty slot */
    uint32_t length;
    uint32_t id;
} Slot;

#define VOCAB_MAX_SIZE 0xFFFFFFFFLL /* ids are 32-bit */
#define VOCAB_MAX_TOKEN 0xFFFFFFFFLL

/* The bytes s[0..min(n, 8)) as one 64-bit value, with fixed-size loads only (a copy of a variable
 * size is a library call): for n < 8 the value is not the zero-padded bytes, but it still tells any
 * two byte strings of the same length apart (every byte is loaded; the layout depends on n only). */
static inline uint64_t token_head(const char *s, Py_ssize_t n) {
    uint64_t w;
    uint32_t a, b;
    if (n >= 8) {
        memcpy(&w, s, 8);
        return w;
    }
    if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        return (uint64_t)a | ((uint64_t)b << 32);
    }
    if (n > 0)
        return (uint64_t)(unsigned char)s[0] | ((uint64_t)(unsigned char)s[n >> 1] << 8) |
               ((uint64_t)(unsigned char)s[n - 1] << 16);
    return 0;
}

typedef struct {
    Slot *slots;
    Py_ssize_t capacity; /* a power of two */
    Py_ssize_t size;
    char *arena;
    Py_ssize_t arena_used, arena_cap;
    Py_ssize_t longest; /* bytes of the longest token */
    /* For count_words (a table of stopwords): bit c & 31 of shape[first byte & 31][length] is set when
     * the table holds a token of that length (below 16) whose first and last bytes are such; made
     * for tables of short tokens only (shape_of == size: up to date). */
    uint32_t shape[32][16];
    Py_ssize_t shape_of;
} Vocab;

static const char *VOCAB_CAPSULE = "dedupe._kernels.Vocab";

static void vocab_free(Vocab *v) {
    if (!v) return;
    PyMem_RawFree(v->slots);
    PyMem_RawFree(v->arena);
    PyMem_RawFree(v);
}

static void vocab_capsule_destructor(PyObject *capsule) {
    vocab_free((Vocab *)PyCapsule_GetPointer(capsule, VOCAB_CAPSULE));
}

static int vocab_init_slots(Vocab *v, Py_ssize_t capacity) {
    Slot *slots = PyMem_RawMalloc((size_t)capacity * sizeof(Slot));
    if (!slots) return -1;
    for (Py_ssize_t i = 0; i < capacity; i++) slots[i].offset = -1;
    PyMem_RawFree(v->slots);
    v->slots = slots;
    v->capacity = capacity;
    return 0;
}

static PyObject *vocab_new(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    Vocab *v = PyMem_RawCalloc(1, sizeof(Vocab));
    if (!v || vocab_init_slots(v, 1024) < 0) {
        vocab_free(v);
        return PyErr_NoMemory();
    }
    PyObject *capsule = PyCapsule_New(v, VOCAB_CAPSULE, vocab_capsule_destructor);
    if (!capsule) vocab_free(v);
    return capsule;
}

/* The table's own hash of token s[0..n) (never stored or shown): 8 bytes at a time, so that its
 * cost is per word of the token rather than a multiplication per byte. */
static inline uint64_t token_hash(const char *s, Py_ssize_t n) {
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ULL;
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    if (i < n) h = (h ^ token_head(s + i, n - i)) * 0xC4CEB9FE1A85EC53ULL;
    return fmix64(h);
}

/* Room in *buf (PyMem_Raw memory, *cap items of ``item`` bytes) for ``need`` items: doubled from
 * ``first`` (or the capacity it has) until they fit. 0, or -1 with MemoryError (*buf unchanged). */
static int grow_raw(void **buf, Py_ssize_t *cap, Py_ssize_t need, size_t item, Py_ssize_t first) {
    if (need <= *cap) return 0;
    Py_ssize_t size = *cap ? *cap : first;
    while (size < need) size *= 2;
    void *grown = PyMem_RawRealloc(*buf, (size_t)size * item);
    if (!grown) {
        PyErr_NoMemory();
        return -1;
    }
    *buf = grown;
    *cap = size;
    return 0;
}

static int vocab_grow(Vocab *v) {
    Slot *old = v->slots;
    Py_ssize_t old_cap = v->capacity;
    v->slots = NULL;
    if (vocab_init_slots(v, old_cap * 2) < 0) {
        v->slots = old;
        return -1;
    }
    Py_ssize_t mask = v->capacity - 1;
    for (Py_ssize_t i = 0; i < old_cap; i++) {
        if (old[i].offset < 0) continue;
        Py_ssize_t j = (Py_ssize_t)(old[i].hash & (uint64_t)mask);
        while (v->slots[j].offset >= 0) j = (j + 1) & mask;
        v->slots[j] = old[i];
    }
    PyMem_RawFree(old);
    return 0;
}

/* The slot of token s[0..n) (hash h, first bytes head): the one holding it, or the empty one where
 * it would go. */
static inline Py_ssize_t vocab_probe(const Vocab *v, uint64_t h, uint64_t head, const char *s, Py_ssize_t n) {
    Py_ssize_t mask = v->capacity - 1, j = (Py_ssize_t)(h & (uint64_t)mask);
    while (v->slots[j].offset >= 0) {
        const Slot *slot = &v->slots[j];
        if (slot->hash == h && slot->head == head && (Py_ssize_t)slot->length == n &&
            (n <= 8 || memcmp(v->arena + slot->offset + 8, s + 8, (size_t)(n - 8)) == 0))
            break;
        j = (j + 1) & mask;
    }
    return j;
}

/* The id of token s[0..n) (token_hash h, token_head head), adding it (id = size) when new; -1 when
 * out of memory or past the table's limits (MemoryError, set here). *is_new tells. */
static int64_t vocab_id(Vocab *v, const char *s, Py_ssize_t n, uint64_t h, uint64_t head, int *is_new) {
    Py_ssize_t j = vocab_probe(v, h, head, s, n);
    if (v->slots[j].offset >= 0) {
        *is_new = 0;
        return (int64_t)v->slots[j].id;
    }
    if (v->size >= VOCAB_MAX_SIZE || n > VOCAB_MAX_TOKEN) {
        PyErr_SetString(PyExc_MemoryError, "vocabulary full (2**32 tokens, or a token of 4 GB)");
        return -1;
    }
    void *arena = v->arena;
    if (grow_raw(&arena, &v->arena_cap, v->arena_used + n, 1, 65536) < 0) return -1;
    v->arena = arena;
    int64_t id = (int64_t)v->size;
    memcpy(v->arena + v->arena_used, s, (size_t)n);
    v->slots[j].hash = h;
    v->slots[j].head = head;
    v->slots[j].offset = v->arena_used;
    v->slots[j].length = (uint32_t)n;
    v->slots[j].id = (uint32_t)id;
    v->arena_used += n;
    v->size++;
    if (n > v->longest) v->longest = n;

    *is_new = 1;
    if (2 * v->size > v->capacity && vocab_grow(v) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return id;
}

/* The code point of the UTF-8 sequence at s[i] (input from Python's encoder: valid, surrogates
 * allowed) and its length in bytes. */
static inline Py_UCS4 utf8_at(const unsigned char *s, Py_ssize_t i, Py_ssize_t len, int *size) {
    unsigned char c = s[i];
    if (c < 0x80 || i + 1 >= len) {
        *size = 1;
        return c;
    }
    if (c < 0xE0) {
        *size = 2;
        return ((Py_UCS4)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    }
    if (c < 0xF0 || i + 3 >= len) {
        *size = i + 2 < len ? 3 : 2;
        return *size == 3 ? ((Py_UCS4)(c & 0x0F) << 12) | ((Py_UCS4)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F) : 0;
    }
    *size = 4;
    return ((Py_UCS4)(c & 0x07) << 18) | ((Py_UCS4)(s[i + 1] & 0x3F) << 12) | ((Py_UCS4)(s[i + 2] & 0x3F) << 6) |
           (s[i + 3] & 0x3F);
}

/* Python's ``\w`` on an ASCII character. */
static inline int ascii_word_char(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

/* Whether the character at s[i] belongs to a token; *size is its length in bytes. In ``words``
 * mode a token is a run of word characters (Python's ``\w``: alphanumeric or underscore);
 * otherwise anything but a space. */
static inline int token_char(const unsigned char *s, Py_ssize_t i, Py_ssize_t len, int words, int *size) {
    unsigned char c = s[i];
    if (c < 0x80) {
        *size = 1;
        if (!words) return c != ' ';
        return ascii_word_char(c);
    }
    Py_UCS4 ch = utf8_at(s, i, len, size);
    if (!words) return 1;
    return Py_UNICODE_ISALNUM(ch) ? 1 : 0;
}

/* An ASCII word character (Python's ``\w``) lower-cased, 0 for any other ASCII character. */
static const unsigned char LOWER_WORD[128] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6', ['7'] = '7',
    ['8'] = '8', ['9'] = '9', ['_'] = '_',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h',
    ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p',
    ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x',
    ['y'] = 'y', ['z'] = 'z',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g', ['H'] = 'h',
    ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p',
    ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
    ['Y'] = 'y', ['Z'] = 'z',
};

/* vocab_lookup(vocab, data: bytes, out_ids: int64 buffer, words: bool[, out_lines[, separators]])
 * -> (count, joined, new_tokens)
 * data is UTF-8: with ``words``, text whose tokens are its runs of word characters (as
 * normalize.tokenize finds them), else tokens separated by runs of spaces. Writes the tokens' ids
 * in order and returns their number, the tokens joined by single spaces, and the tokens seen for
 * the first time (in id order).
 *
 * With ``separators`` (a bitmap of the Basic Multilingual Plane, bit c set for a character that
 * normalize.fold_text turns into non-word characters only, and that no normalization joins to a
 * neighbour; ``words`` mode, no ``out_lines``), data is a raw text, and the tokens are those of
 * its fold_text: ASCII word characters lower-cased, every other character a separator. A text
 * with a non-ASCII character outside the bitmap returns None, before anything is looked up. */
static int fold_separable(const unsigned char *s, Py_ssize_t len, const unsigned char *sep) {
    for (Py_ssize_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int size = 1;
        Py_UCS4 ch = utf8_at(s, i, len, &size);
        if (ch >= 0x10000 || !((sep[ch >> 3] >> (ch & 7)) & 1)) return 0;
        i += size;
    }
    return 1;
}

/* vocab_id, appending the token (as str) to the list ``fresh`` when it is new; -1 with an exception set. */
static int64_t vocab_id_fresh(Vocab *v, const char *s, Py_ssize_t n, uint64_t h, uint64_t head, PyObject *fresh) {
    int is_new = 0;
    int64_t id = vocab_id(v, s, n, h, head, &is_new);
    if (id >= 0 && is_new) {
        PyObject *token = PyUnicode_DecodeUTF8(s, n, "surrogatepass");
        if (!token || PyList_Append(fresh, token) < 0) {
            Py_XDECREF(token);
            return -1;
        }
        Py_DECREF(token);
    }
    return id;
}

/* Tokens waiting for their ids. A lookup's time is mostly the cache miss on the token's slot (the
 * table of a large corpus is larger than the core's cache): each token's slot is prefetched when
 * the token is found, and the token is looked up AHEAD tokens later, so that the misses of several
 * tokens overlap instead of following one another. Tokens are resolved in the order they came, so
 * the ids, and the new tokens with their order, are those of looking each up at once. A token is
 * its offset in the caller's buffer (which may move meanwhile: the base is given when resolving). */
#define AHEAD 16
typedef struct {
    Py_ssize_t at[AHEAD], n[AHEAD], k[AHEAD]; /* token bytes' offset, length, index of its id */
    uint64_t h[AHEAD], head[AHEAD];
    int first, count;
} Ahead;

static inline void ahead_push(const Vocab *v, Ahead *q, const char *base, Py_ssize_t at, Py_ssize_t n,
                              Py_ssize_t k) {
    int j = (q->first + q->count) & (AHEAD - 1);
    uint64_t h = token_hash(base + at, n);
    q->at[j] = at;
    q->n[j] = n;
    q->k[j] = k;
    q->h[j] = h;
    q->head[j] = token_head(base + at, n);
    __builtin_prefetch(&v->slots[h & (uint64_t)(v->capacity - 1)]);
    q->count++;
}

/* Resolve waiting tokens, oldest first, until at most ``keep`` wait: ids[k] of each. -1 with an
 * exception set (the tokens still waiting are dropped). */
static int ahead_resolve(Vocab *v, Ahead *q, const char *base, int64_t *ids, PyObject *fresh, int keep) {
    while (q->count > keep) {
        int j = q->first;
        int64_t id = vocab_id_fresh(v, base + q->at[j], q->n[j], q->h[j], q->head[j], fresh);
        if (id < 0) {
            q->count = 0;
            return -1;
        }
        ids[q->k[j]] = id;
        q->first = (j + 1) & (AHEAD - 1);
        q->count--;
    }
    return 0;
}

static PyObject *vocab_lookup(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *ids_obj, *lines_obj = Py_None, *sep_obj = Py_None;
    Py_buffer data;
    int words = 0;
    if (!PyArg_ParseTuple(args, "Oy*Op|OO", &capsule, &data, &ids_obj, &words, &lines_obj, &sep_obj)) return NULL;
    Vocab *v = PyCapsule_GetPointer(capsule, VOCAB_CAPSULE);
    Buf bufs[3];
    memset(bufs, 0, sizeof(bufs));
    int with_lines = lines_obj != Py_None, fold = sep_obj != Py_None;
    if (!v || get_buf(ids_obj, &bufs[0], 8, 'i', 1, "out_ids") < 0 ||
        (with_lines && get_buf(lines_obj, &bufs[1], 8, 'i', 1, "out_lines") < 0) ||
        (fold && get_buf(sep_obj, &bufs[2], 1, 'i', 0, "separators") < 0)) {
        release(bufs, 3);
        PyBuffer_Release(&data);
        return NULL;
    }
    if (fold && (!words || with_lines || bufs[2].view.len != 0x10000 / 8)) {
        PyErr_SetString(PyExc_ValueError, "separators: 8192 bytes, in words mode without out_lines");
        release(bufs, 3);
        PyBuffer_Release(&data);
        return NULL;
    }
    if (fold && !fold_separable(data.buf, data.len, bufs[2].view.buf)) {
        release(bufs, 3);
        PyBuffer_Release(&data);
        Py_RETURN_NONE;
    }
    const unsigned char *s = data.buf;
    Py_ssize_t len = data.len, cap = bufs[0].view.len / 8, count = 0, out_len = 0, line = 0;
    if (with_lines && bufs[1].view.len / 8 < cap) cap = bufs[1].view.len / 8;
    int64_t *out = bufs[0].view.buf, *out_lines = with_lines ? bufs[1].view.buf : NULL;
    PyObject *joined = PyBytes_FromStringAndSize(NULL, len);
    PyObject *fresh = PyList_New(0);
    if (!joined || !fresh) goto fail;
    char *jb = PyBytes_AS_STRING(joined);
    int size = 1;
    Ahead ahead = {.first = 0, .count = 0};
    for (Py_ssize_t i = 0; i < len;) {
        if (fold) {
            /* separators: any byte but an ASCII word character (non-ASCII ones checked above) */
            while (i < len && !(s[i] < 0x80 && LOWER_WORD[s[i]])) i++;
        } else {
            while (i < len && !token_char(s, i, len, words, &size)) {
                line += s[i] == '\n';
                i += size;
            }
        }
        if (i >= len) break;
        Py_ssize_t start = i;
        if (out_len) jb[out_len++] = ' ';
        const char *token_at = jb + out_len;
        if (fold) {
            while (i < len && s[i] < 0x80 && LOWER_WORD[s[i]]) jb[out_len++] = (char)LOWER_WORD[s[i++]];
        } else {
            while (i < len && token_char(s, i, len, words, &size)) i += size;
            memcpy(jb + out_len, s + start, (size_t)(i - start));
            out_len += i - start;
        }
        if (count >= cap) {
            PyErr_SetString(PyExc_ValueError, with_lines ? "out_ids or out_lines too small" : "out_ids too small");
            goto fail;
        }
        ahead_push(v, &ahead, jb, token_at - jb, i - start, count);
        if (ahead.count == AHEAD && ahead_resolve(v, &ahead, jb, out, fresh, AHEAD - 1) < 0) goto fail;
        if (with_lines) out_lines[count] = line;
        count++;
    }
    if (ahead_resolve(v, &ahead, jb, out, fresh, 0) < 0) goto fail;
    if (_PyBytes_Resize(&joined, out_len) < 0) {
        joined = NULL;
        goto fail;
    }
    release(bufs, 3);
    PyBuffer_Release(&data);
    return Py_BuildValue("nNN", count, joined, fresh);
fail:
    Py_XDECREF(joined);
    Py_XDECREF(fresh);
    release(bufs, 3);
    PyBuffer_Release(&data);
    return NULL;
}

/* The id of token s[0..n), or -1 when the table does not hold it. */
static inline int64_t vocab_find(const Vocab *v, const char *s, Py_ssize_t n) {
    Py_ssize_t j = vocab_probe(v, token_hash(s, n), token_head(s, n), s, n);
    return v->slots[j].offset < 0 ? -1 : (int64_t)v->slots[j].id;
}

/* The table's token shapes (Vocab.shape), made if out of date; 0 when the table holds a token of 16
 * bytes or more (no shapes: every word is looked up). */
static int vocab_shapes(Vocab *v) {
    if (v->longest >= 16) return 0;
    if (v->shape_of != v->size) {
        memset(v->shape, 0, sizeof(v->shape));
        for (Py_ssize_t j = 0; j < v->capacity; j++) {
            const Slot *slot = &v->slots[j];
            if (slot->offset < 0 || slot->length == 0) continue;
            const unsigned char *t = (const unsigned char *)v->arena + slot->offset;
            v->shape[t[0] & 31][slot->length] |= 1u << (t[slot->length - 1] & 31);
        }
        v->shape_of = v->size;
    }
    return 1;
}

#define WORD_STATS_LONGEST 64 /* longer words are looked up by their first bytes only: never a match */

/* The character of ``text`` at i as the cleaner's word counting sees it: an ASCII character as it
 * is, the right single quotation mark (the curly apostrophe, which joins words as the straight one
 * does) as "'", any other non-word character as a space; -1 for a non-ASCII word character
 * (alphanumeric: Python's ``\w``), which the caller leaves to Python. */
static inline int word_stats_char(int kind, const void *data, Py_ssize_t i) {
    Py_UCS4 ch = PyUnicode_READ(kind, data, i);
    if (ch < 0x80) return (int)ch;
    if (ch == 0x2019) return '\'';
    return Py_UNICODE_ISALNUM(ch) ? -1 : ' ';
}

/* word_stats_char of every Latin-1 character (one-byte strings: one load a character). */
static int16_t WORD_STATS_LATIN1[256];

static void word_stats_latin1_init(void) {
    for (int c = 0; c < 256; c++) WORD_STATS_LATIN1[c] = (int16_t)word_stats_char(PyUnicode_4BYTE_KIND, &(Py_UCS4){(Py_UCS4)c}, 0);
}

/* The cleaner's word counts of characters [0, len) of kind ``kind``: the words are the matches of
 * ``\w+(?:['’]\w+)*`` (runs of word characters joined by single apostrophes, straight or curly, as
 * the cleaner's line features find them), compared lower-cased with the tokens of ``v`` (a vocabulary
 * of stopwords, see vocab_new; ``shapes``: vocab_shapes(v)). Returns -1 when a non-ASCII character is
 * a word character: case-folding such words is left to Python. Inlined for one-byte strings and for
 * the others by count_words. */
static inline __attribute__((always_inline)) int word_stats_scan(int kind, const void *data, Py_ssize_t len,
                                                                 const Vocab *v, int shapes, Py_ssize_t *words_out,
                                                                 Py_ssize_t *stops_out) {
    Py_ssize_t words = 0, stops = 0, longest = v->longest;
    char word[WORD_STATS_LONGEST];
    int c = 0;
#define WS_AT(j) (c = kind == PyUnicode_1BYTE_KIND ? WORD_STATS_LATIN1[((const unsigned char *)data)[j]] \
                                                   : word_stats_char(kind, data, (j)))
    for (Py_ssize_t i = 0; i < len;) {
        if (WS_AT(i) < 0) return -1;
        if (!LOWER_WORD[c]) {
            i++;
            continue;
        }
        Py_ssize_t n = 0;
        for (;;) {
            while (i < len && WS_AT(i) >= 0 && LOWER_WORD[c]) {
                if (n < WORD_STATS_LONGEST) word[n] = (char)LOWER_WORD[c];
                n++;
                i++;
            }
            if (c < 0) return -1;
            if (i + 1 < len && c == '\'') {
                int next = kind == PyUnicode_1BYTE_KIND ? WORD_STATS_LATIN1[((const unsigned char *)data)[i + 1]]
                                                        : word_stats_char(kind, data, i + 1);
                if (next < 0) return -1;
                if (LOWER_WORD[next]) {
                    if (n < WORD_STATS_LONGEST) word[n] = '\'';
                    n++;
                    i++;
                    continue;
                }
            }
            break;
        }
        words++;
        /* a word longer than every token of the table is not in it, nor one of a shape none has */
        if (n <= longest && n <= WORD_STATS_LONGEST &&
            (!shapes || (v->shape[word[0] & 31][n] >> (word[n - 1] & 31) & 1)) && vocab_find(v, word, n) >= 0)
            stops++;
    }
#undef WS_AT
    *words_out = words;
    *stops_out = stops;
    return 0;
}

/* word_stats_scan, one copy per string kind (one load a character). */
static int count_words(int kind, const void *data, Py_ssize_t len, const Vocab *v, int shapes, Py_ssize_t *words,
                       Py_ssize_t *stops) {
    return kind == PyUnicode_1BYTE_KIND   ? word_stats_scan(PyUnicode_1BYTE_KIND, data, len, v, shapes, words, stops)
           : kind == PyUnicode_2BYTE_KIND ? word_stats_scan(PyUnicode_2BYTE_KIND, data, len, v, shapes, words, stops)
                                          : word_stats_scan(PyUnicode_4BYTE_KIND, data, len, v, shapes, words, stops);
}

/* Python's ``str.isspace`` on an ASCII character. */
static inline int ascii_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31); }

static inline int ascii_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* normalize_ascii_line(text) -> str or None: the cleaner's normalize_line of an ASCII ``text`` (None
 * for any other): lower-cased, whitespace runs (as str.split finds them) collapsed to one space, and
 * everything before the first and after the last alphanumeric character dropped (``[\W_]+`` at the
 * edges). On ASCII, casefold() is lower(). */
static PyObject *normalize_ascii(const unsigned char *s, Py_ssize_t len);

static PyObject *normalize_ascii_line(PyObject *self, PyObject *text) {
    (void)self;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "normalize_ascii_line(text: str)");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text)) Py_RETURN_NONE;
    return normalize_ascii(PyUnicode_1BYTE_DATA(text), PyUnicode_GET_LENGTH(text));
}

/* normalize_ascii_line of the ASCII characters s[0..len); s[len] must be an ASCII character (the
 * line's end, or the string's terminating NUL). */
static PyObject *normalize_ascii(const unsigned char *s, Py_ssize_t len) {
    Py_ssize_t first = 0, last = len;
    while (first < len && !ascii_alnum(s[first])) first++;
    while (last > first && !ascii_alnum(s[last - 1])) last--;
    PyObject *out = PyUnicode_New(last - first, 127);
    if (!out) return NULL;
    unsigned char *o = PyUnicode_1BYTE_DATA(out);
    /* The usual line: no whitespace but single spaces. Lower-cased in one branch-free pass, the
     * whitespace checked alongside (with tables: half the time of the loop below). s[i + 1] is at
     * most s[len], the string's terminating NUL; it only counts after a space, and s[last - 1] is
     * alphanumeric. */
    static unsigned char space_kind[128]; /* 1: the space, 2: other whitespace (str.isspace) */
    if (!space_kind[' ']) {
        for (int c = 0; c < 128; c++) space_kind[c] = c == ' ' ? 1 : ascii_space((unsigned char)c) ? 2 : 0;
    }
    unsigned char odd = 0;
    for (Py_ssize_t i = first; i < last; i++) {
        unsigned char c = s[i];
        o[i - first] = (unsigned char)(c + (((unsigned)(c - 'A') < 26u) << 5));
        /* other whitespace, or a space followed by whitespace */
        odd |= (unsigned char)((space_kind[c] >> 1) | (space_kind[c] & (space_kind[s[i + 1]] != 0)));
    }
    if (!odd) return out;
    Py_ssize_t n = 0;
    for (Py_ssize_t i = first; i < last; i++) {
        unsigned char c = s[i];
        if (ascii_space(c)) {
            while (ascii_space(s[i + 1])) i++; /* s[last - 1] is alphanumeric: the run ends before it */
            o[n++] = ' ';
        } else {
            o[n++] = (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
    }
    if (n == last - first) return out;
    PyObject *shorter = PyUnicode_Substring(out, 0, n);
    Py_DECREF(out);
    return shorter;
}

/* --- sentence splitting (normalize.split_sentences) --- */

/* --- the recurring-line count's keys (cleaner.recurring_line_keys) --- */

/* Characters that may follow a sentence's final mark (rules._SENTENCE_CLOSERS) and the marks
 * (rules._SENTENCE_ENDS). */
static inline int sentence_closer(Py_UCS4 c) {
    return c == '"' || c == '\'' || c == 0x201D || c == 0x2019 || c == 0xBB || c == ')' || c == ']';
}

static inline int sentence_mark(Py_UCS4 c) { return c == '.' || c == '!' || c == '?' || c == 0x2026; }

/* Whether characters [a, b) end with one of .!?… followed by nothing but closing quotes and brackets,
 * then whitespace (rules.LineFeatures.ends_sentence). */
static inline int ends_sentence_in(int kind, const void *data, Py_ssize_t a, Py_ssize_t b) {
    while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, b - 1))) b--;
    while (b > a && sentence_closer(PyUnicode_READ(kind, data, b - 1))) b--;
    return b > a && sentence_mark(PyUnicode_READ(kind, data, b - 1));
}

/* _LineShape.is_prose from a line's word count, stopwords among them and sentence ending. */
static inline int line_is_prose(Py_ssize_t n, Py_ssize_t stops, int ends_sentence) {
    if (n < 8) return 0;
    double density = (double)stops / (double)n;
    if (!ends_sentence) return n >= 15 && density >= 0.3;
    return density >= (n >= 30 ? 0.12 : 0.2);
}

/* recurring_keys(stopwords, text) -> (keys, rest): of the non-blank lines of ``text`` (ending at
 * "\n", "\r\n" or "\r"), the normalised form (normalize_line, when not empty) of every line that is
 * not prose, for the lines this kernel can judge: those without non-ASCII word characters (as
 * count_words), and, among those that are not prose, the ASCII ones; ``rest`` holds the other lines,
 * for Python to judge. Prose lines give nothing. */
static PyObject *recurring_keys(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *text;
    if (!PyArg_ParseTuple(args, "OU", &capsule, &text)) return NULL;
    Vocab *v = PyCapsule_GetPointer(capsule, VOCAB_CAPSULE);
    if (!v) return NULL;
    int shapes = vocab_shapes(v);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    PyObject *keys = PyList_New(0), *rest = PyList_New(0);
    unsigned char *copy = NULL;
    Py_ssize_t copy_cap = 0;
    if (!keys || !rest) goto fail;
    /* One-byte text without "\r": lines end where memchr finds "\n". */
    int lf_only = kind == PyUnicode_1BYTE_KIND && !memchr(data, '\r', (size_t)len);
    for (Py_ssize_t a = 0; a < len;) {
        Py_ssize_t b = a;
        if (lf_only) {
            const char *end = memchr((const char *)data + a, '\n', (size_t)(len - a));
            b = end ? end - (const char *)data : len;
        } else {
            for (; b < len; b++) {
                Py_UCS4 c = PyUnicode_READ(kind, data, b);
                if (c == '\n' || c == '\r') break;
            }
        }
        int blank = 1, ascii = PyUnicode_IS_ASCII(text);
        for (Py_ssize_t i = a; i < b && blank; i++) blank = Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i));
        Py_ssize_t next = b + (b < len && PyUnicode_READ(kind, data, b) == '\r' && b + 1 < len &&
                               PyUnicode_READ(kind, data, b + 1) == '\n') + 1;
        if (!blank) {
            const char *line = (const char *)data + a * kind;
            Py_ssize_t words, stops;
            int judged = count_words(kind, line, b - a, v, shapes, &words, &stops) == 0;
            int prose = 0;
            if (judged) prose = line_is_prose(words, stops, ends_sentence_in(kind, data, a, b));
            if (!prose) {
                PyObject *item;
                if (judged && !ascii) { /* a line of a non-ASCII text may be ASCII itself */
                    ascii = 1;
                    for (Py_ssize_t i = a; i < b && ascii; i++) ascii = PyUnicode_READ(kind, data, i) < 0x80;
                }
                if (judged && ascii) {
                    const unsigned char *s = (const unsigned char *)line;
                    if (kind != PyUnicode_1BYTE_KIND) { /* the line's characters as bytes, NUL-terminated */
                        if (b - a + 1 > copy_cap) {
                            PyMem_RawFree(copy);
                            copy_cap = 2 * (b - a + 1);
                            copy = PyMem_RawMalloc((size_t)copy_cap);
                            if (!copy) {
                                PyErr_NoMemory();
                                goto fail;
                            }
                        }
                        for (Py_ssize_t i = a; i < b; i++) copy[i - a] = (unsigned char)PyUnicode_READ(kind, data, i);
                        copy[b - a] = 0;
                        s = copy;
                    }
                    item = normalize_ascii(s, b - a);
                    if (item && PyUnicode_GET_LENGTH(item) == 0) {
                        Py_DECREF(item);
                        a = next;
                        continue;
                    }
                } else {
                    item = PyUnicode_Substring(text, a, b);
                }
                if (!item || PyList_Append(judged && ascii ? keys : rest, item) < 0) {
                    Py_XDECREF(item);
                    goto fail;
                }
                Py_DECREF(item);
            }
        }
        a = next;
    }
    PyMem_RawFree(copy);
    return Py_BuildValue("NN", keys, rest);
fail:
    PyMem_RawFree(copy);
    Py_XDECREF(keys);
    Py_XDECREF(rest);
    return NULL;
}


/* line_stats(stopwords, text) -> (words, stopwords among them, ends_sentence, normalized or None), or
 * None: what LineFeatures computes for every line, in one call. The counts are count_words' (None when
 * the line has non-ASCII word characters); ends_sentence is whether the line ends with one of .!?…
 * followed by nothing but closing quotes and brackets and whitespace; the normalized line is
 * normalize_ascii_line's (None for a line with non-ASCII characters, left to Python). */
static PyObject *line_stats(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "line_stats(stopwords, text: str)");
        return NULL;
    }
    Vocab *v = PyCapsule_GetPointer(args[0], VOCAB_CAPSULE);
    if (!v) return NULL;
    int shapes = vocab_shapes(v);
    PyObject *text = args[1];
    Py_ssize_t len = PyUnicode_GET_LENGTH(text), words, stops;
    int kind = PyUnicode_KIND(text), ascii = PyUnicode_IS_ASCII(text);
    const void *data = PyUnicode_DATA(text);
    if (count_words(kind, data, len, v, shapes, &words, &stops) < 0) Py_RETURN_NONE;
    int ends = ends_sentence_in(kind, data, 0, len);
    PyObject *norm;
    if (ascii) {
        norm = normalize_ascii(PyUnicode_1BYTE_DATA(text), len);
        if (!norm) return NULL;
    } else {
        norm = Py_NewRef(Py_None);
    }
    return Py_BuildValue("nnNN", words, stops, PyBool_FromLong(ends), norm);
}


/* --- the cleaner's line screen (rules.Screen) and doc_lines --- */

/* rules.Screen.as_tuple(), with tables for the characters below 256: each one's classes (cls, SC_*
 * bits, for the character as written) and bitmaps of the first two characters of the hints; the strings
 * looked up at a position by their first character (Prefixes). Characters of 256 or more are looked for
 * in the strings themselves. */
enum { SC_ALNUM = 1, SC_CHAR = 2, SC_UNENDED = 4, SC_CASED = 8, SC_HINT = 16 };

/* Strings looked up at a position by their first character, lower-cased on ASCII: order[start[c]..start[c + 1])
 * index the strings starting with c (below 128), order[start[128]..start[129]) the others. */
typedef struct {
    uint16_t start[130], *order;
} Prefixes;

static inline Py_UCS4 ascii_lower(Py_UCS4 c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int prefixes_init(Prefixes *p, PyObject *strings) {
    Py_ssize_t n = PyTuple_GET_SIZE(strings);
    memset(p->start, 0, sizeof(p->start));
    p->order = PyMem_Malloc(sizeof(uint16_t) * (size_t)(n + 1));
    if (!p->order) {
        PyErr_NoMemory();
        return -1;
    }
    uint16_t fill[130];
    for (int pass = 0; pass < 2; pass++) {
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *h = PyTuple_GET_ITEM(strings, k);
            if (!PyUnicode_Check(h) || PyUnicode_GET_LENGTH(h) == 0) {
                PyErr_SetString(PyExc_ValueError, "screen strings must be non-empty strings");
                return -1;
            }
            Py_UCS4 c = ascii_lower(PyUnicode_READ_CHAR(h, 0));
            size_t bucket = c < 128 ? c : 128;
            if (pass == 0)
                p->start[bucket + 1]++;
            else
                p->order[fill[bucket]++] = (uint16_t)k;
        }
        if (pass == 0) {
            for (int c = 0; c < 129; c++) p->start[c + 1] += p->start[c];
            memcpy(fill, p->start, sizeof(fill));
        }
    }
    return 0;
}

typedef struct {
    Py_ssize_t words, alnum;
    PyObject *chars, *hints, *cased, *unended; /* str, tuple of str, tuple of str, str (owned) */
    int capitals;
    PyObject *starts, *head_chars, *ends, *lead, *first_words; /* tuple of str, str, str, tuples of str (owned) */
    Py_ssize_t head;
    uint64_t *words_table; /* first_words' run_hash values (0: empty), open addressing */
    size_t words_mask;
    Prefixes hints_at, lead_at, starts_at, cased_at;
    uint8_t cls[256];
    uint8_t bigram[65536 / 8];            /* first two characters (lower-cased) of hints of 2+ characters */
    uint8_t cased_bigram[65536 / 8];      /* first two characters of cased hints */
    /* For one-byte strings: bit (c << 8 | next) of stops[ends] is set where line_scan's loop looks
     * at character c followed by ``next`` (0 at the end) in a line that ends a sentence or not: c is
     * a character to look for, or may start a hint (cased: as written; else lower-cased) that
     * starts with c and next. Every other position is skipped at one load a character. */
    uint8_t stops[2][65536 / 8];
    int chars_wide, unended_wide, hints_wide, cased_wide; /* some character (a hint's first) is 256 or more */
} Screen;

static const char *SCREEN_CAPSULE = "dedupe._kernels.Screen";

static void screen_free(PyObject *capsule) {
    Screen *sc = PyCapsule_GetPointer(capsule, SCREEN_CAPSULE);
    if (!sc) return;
    Py_XDECREF(sc->chars);
    Py_XDECREF(sc->hints);
    Py_XDECREF(sc->cased);
    Py_XDECREF(sc->unended);
    Py_XDECREF(sc->starts);
    Py_XDECREF(sc->head_chars);
    Py_XDECREF(sc->ends);
    Py_XDECREF(sc->lead);
    Py_XDECREF(sc->first_words);
    PyMem_Free(sc->words_table);
    PyMem_Free(sc->lead_at.order);
    PyMem_Free(sc->starts_at.order);
    PyMem_Free(sc->cased_at.order);
    PyMem_Free(sc->hints_at.order);
    PyMem_Free(sc);
}


/* Gives the characters of ``s`` class ``bit`` in sc->cls; returns whether one is 256 or more. */
static int screen_mark(Screen *sc, PyObject *s, uint8_t bit) {
    int wide = 0;
    for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(s); k++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(s, k);
        if (c < 256)
            sc->cls[c] |= bit;
        else
            wide = 1;
    }
    return wide;
}

/* The hash of characters [a, b), ASCII letters lower-cased (never 0). */
static uint64_t run_hash(int kind, const void *d, Py_ssize_t a, Py_ssize_t b) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (Py_ssize_t i = a; i < b; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, d, i);
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 0x100000001b3ULL;
    }
    return h ? h : 1;
}

/* Whether the run d[a..b) (lower-cased) is one of the screen's first_words, or has the hash of one. */
static int first_word_in(const Screen *sc, int kind, const void *d, Py_ssize_t a, Py_ssize_t b) {
    uint64_t h = run_hash(kind, d, a, b);
    for (size_t j = h & sc->words_mask; sc->words_table[j]; j = (j + 1) & sc->words_mask)
        if (sc->words_table[j] == h) return 1;
    return 0;
}

/* screen_new(screen) -> capsule: a rules.Screen.as_tuple() for doc_lines. */
static PyObject *screen_new(PyObject *self, PyObject *args) {
    (void)self;
    Screen *sc = PyMem_Calloc(1, sizeof(Screen));
    if (!sc) return PyErr_NoMemory();
    PyObject *capsule = NULL;
    if (!PyArg_ParseTuple(args, "(nnUO!O!UpO!nUUO!O!)", &sc->words, &sc->alnum, &sc->chars, &PyTuple_Type, &sc->hints,
                          &PyTuple_Type, &sc->cased, &sc->unended, &sc->capitals, &PyTuple_Type, &sc->starts,
                          &sc->head, &sc->head_chars, &sc->ends, &PyTuple_Type, &sc->lead, &PyTuple_Type,
                          &sc->first_words)) {
        PyMem_Free(sc);
        return NULL;
    }
    if (sc->head < 0 || PyTuple_GET_SIZE(sc->hints) > 65535 || PyTuple_GET_SIZE(sc->cased) > 65535 ||
        PyTuple_GET_SIZE(sc->starts) > 65535 || PyTuple_GET_SIZE(sc->lead) > 65535) {
        PyErr_SetString(PyExc_ValueError, "screen_new: a negative head, or more than 65535 strings of a kind");
        PyMem_Free(sc);
        return NULL;
    }
    PyObject **owned[] = {&sc->chars,  &sc->hints, &sc->cased, &sc->unended,    &sc->starts,
                          &sc->head_chars, &sc->ends, &sc->lead, &sc->first_words};
    for (size_t k = 0; k < sizeof(owned) / sizeof(*owned); k++) Py_INCREF(*owned[k]);
    capsule = PyCapsule_New(sc, SCREEN_CAPSULE, screen_free);
    if (!capsule) {
        for (size_t k = 0; k < sizeof(owned) / sizeof(*owned); k++) Py_DECREF(*owned[k]);
        PyMem_Free(sc);
        return NULL;
    }
    if (prefixes_init(&sc->hints_at, sc->hints) < 0 || prefixes_init(&sc->lead_at, sc->lead) < 0 ||
        prefixes_init(&sc->starts_at, sc->starts) < 0 || prefixes_init(&sc->cased_at, sc->cased) < 0)
        goto fail;
    PyObject *string_tuples[] = {sc->starts, sc->lead, sc->first_words};
    for (size_t t = 0; t < 3; t++) {
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(string_tuples[t]); k++) {
            if (!PyUnicode_Check(PyTuple_GET_ITEM(string_tuples[t], k))) {
                PyErr_SetString(PyExc_ValueError, "screen starts, lead and first_words must be strings");
                goto fail;
            }
        }
    }
    {
        Py_ssize_t n = PyTuple_GET_SIZE(sc->first_words);
        size_t size = 16;
        while (size < (size_t)(2 * n + 1)) size *= 2;
        sc->words_table = PyMem_Calloc(size, sizeof(uint64_t));
        if (!sc->words_table) {
            PyErr_NoMemory();
            goto fail;
        }
        sc->words_mask = size - 1;
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *w = PyTuple_GET_ITEM(sc->first_words, k);
            uint64_t h = run_hash(PyUnicode_KIND(w), PyUnicode_DATA(w), 0, PyUnicode_GET_LENGTH(w));
            size_t j = h & sc->words_mask;
            while (sc->words_table[j] && sc->words_table[j] != h) j = (j + 1) & sc->words_mask;
            sc->words_table[j] = h;
        }
    }
    for (int c = 0; c < 128; c++)
        if (ascii_alnum((unsigned char)c)) sc->cls[c] |= SC_ALNUM;
    sc->chars_wide = screen_mark(sc, sc->chars, SC_CHAR);
    sc->unended_wide = screen_mark(sc, sc->unended, SC_UNENDED);
    Py_ssize_t n_hints = PyTuple_GET_SIZE(sc->hints), n_cased = PyTuple_GET_SIZE(sc->cased);
    for (Py_ssize_t k = 0; k < n_hints + n_cased; k++) {
        PyObject *h = k < n_hints ? PyTuple_GET_ITEM(sc->hints, k) : PyTuple_GET_ITEM(sc->cased, k - n_hints);
        if (!PyUnicode_Check(h) || PyUnicode_GET_LENGTH(h) == 0) {
            PyErr_SetString(PyExc_ValueError, "screen hints must be non-empty strings");
            goto fail;
        }
        Py_UCS4 c = PyUnicode_READ_CHAR(h, 0);
        if (k < n_hints && PyUnicode_GET_LENGTH(h) == 1) { /* a one-character hint: a character to look for */
            if (c < 256) {
                for (int u = 0; u < 256; u++)
                    if (ascii_lower((Py_UCS4)u) == ascii_lower(c)) sc->cls[u] |= SC_CHAR;
            } else {
                sc->hints_wide = 1;
            }
            continue;
        }
        if (k >= n_hints) { /* a hint as written: by its first two characters, one alone as a character */
            Py_UCS4 c2 = PyUnicode_GET_LENGTH(h) > 1 ? PyUnicode_READ_CHAR(h, 1) : 0;
            if (PyUnicode_GET_LENGTH(h) == 1 && c < 256) {
                sc->cls[c] |= SC_CHAR;
            } else if (c < 256 && c2 < 256) {
                sc->cls[c] |= SC_CASED;
                sc->cased_bigram[(c << 8 | c2) >> 3] |= (uint8_t)(1u << (c2 & 7));
            } else {
                if (c < 256) sc->cls[c] |= SC_CASED; /* looked up where the next character is wide */
                sc->cased_wide = 1;
            }
            continue;
        }
        c = ascii_lower(c);
        if (c >= 256) {
            sc->hints_wide = 1;
            continue;
        }
        for (int u = 0; u < 256; u++)
            if (ascii_lower((Py_UCS4)u) == c) sc->cls[u] |= SC_HINT;
        Py_UCS4 c2 = ascii_lower(PyUnicode_READ_CHAR(h, 1));
        if (c2 < 256)
            sc->bigram[(c << 8 | c2) >> 3] |= (uint8_t)(1u << (c2 & 7));
        else
            sc->hints_wide = 1; /* then every hint is tried where the next character is wide */
    }
    for (int ends = 0; ends < 2; ends++) {
        uint8_t stop = (uint8_t)(SC_CHAR | (ends ? 0 : SC_UNENDED));
        for (unsigned c = 0; c < 256; c++) {
            for (unsigned next = 0; next < 256; next++) {
                unsigned lc = ascii_lower(c), ln = ascii_lower(next);
                if ((sc->cls[c] & stop) ||
                    ((sc->cls[c] & SC_CASED) && (sc->cased_bigram[(c << 8 | next) >> 3] >> (next & 7) & 1)) ||
                    ((sc->cls[c] & SC_HINT) && (sc->bigram[(lc << 8 | ln) >> 3] >> (ln & 7) & 1)))
                    sc->stops[ends][(c << 8 | next) >> 3] |= (uint8_t)(1u << (next & 7));
            }
        }
    }
    return capsule;
fail:
    Py_DECREF(capsule);
    return NULL;
}

static inline int str_has(PyObject *s, Py_UCS4 c) {
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    for (Py_ssize_t k = 0; k < n; k++)
        if (PyUnicode_READ_CHAR(s, k) == c) return 1;
    return 0;
}

/* Whether the string h starts at i of the line d[0..len) (ASCII letters of the line lower-cased first
 * when ``lower``). */
static inline int hint_at(PyObject *h, int lower, int kind, const void *d, Py_ssize_t len, Py_ssize_t i) {
    Py_ssize_t hl = PyUnicode_GET_LENGTH(h);
    if (hl > len - i) return 0;
    int hkind = PyUnicode_KIND(h);
    const void *hd = PyUnicode_DATA(h);
    for (Py_ssize_t j = 0; j < hl; j++) {
        Py_UCS4 c = PyUnicode_READ(kind, d, i + j);
        if (lower) c = ascii_lower(c);
        if (c != PyUnicode_READ(hkind, hd, j)) return 0;
    }
    return 1;
}

/* Whether one of the strings of the tuple ``strings`` (indexed by ``p``) starts at i (in any ASCII letter
 * case with ``lower``, see hint_at). */
static inline int prefix_at(PyObject *strings, const Prefixes *p, int lower, int kind, const void *d, Py_ssize_t len,
                            Py_ssize_t i) {
    Py_UCS4 c = ascii_lower(PyUnicode_READ(kind, d, i));
    size_t bucket = c < 128 ? c : 128;
    for (uint16_t k = p->start[bucket]; k < p->start[bucket + 1]; k++)
        if (hint_at(PyTuple_GET_ITEM(strings, p->order[k]), lower, kind, d, len, i)) return 1;
    return 0;
}

/* Whether one of the strings of the tuple ``hints`` starts at i (see hint_at). */
static int any_hint_at(PyObject *hints, int lower, int kind, const void *d, Py_ssize_t len, Py_ssize_t i) {
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(hints); k++)
        if (hint_at(PyTuple_GET_ITEM(hints, k), lower, kind, d, len, i)) return 1;
    return 0;
}

/* What the cleaner's block pass looks at of a line (cleaner.find_main_block, find_headline, _may_repeat,
 * find_comments). */
typedef struct {
    Py_ssize_t words, stops;
    int ends, colon_end, title_end, bar; /* rstrip ends with ":"; strip ends with neither ":" nor ","; has "|" */
    int comment;                         /* may start a comments heading (see line_scan) */
    uint64_t norm_hash, head_hash;       /* see line_scan */
} LineShape;

#define FNV_PRIME 0x100000001b3ULL
#define FNV_BASIS 0xcbf29ce484222325ULL
/* norm_hash reads the first this many letters and digits: still a function of the normalised line (lines
 * alike that far collide, and are only taken for possible repeats), at a fraction of the cost. */
#define NORM_HASH_CHARS 64

/* Each ASCII letter and digit lower-cased; 0 for the other ASCII characters. */
static unsigned char ALNUM_LOWER[128];

static void alnum_lower_init(void) {
    for (int c = 0; c < 128; c++) ALNUM_LOWER[c] = ascii_alnum((unsigned char)c) ? (unsigned char)ascii_lower((Py_UCS4)c) : 0;
}

/* One pass over a counted line d[0..len) (sh->words, stops, ends set): its shape, and (with a screen)
 * whether the screen lets it through (rules.Screen.lets_through, but for the word count and non-ASCII
 * words: see doc_lines). Without a screen (NULL), returns 1.
 *
 * norm_hash (with ``hash_norm``) is a function of the line's normalised form (rules.normalize_line):
 * the hash of its runs of ASCII letters and digits, lower-cased (of the first NORM_HASH_CHARS of them). normalize_line keeps every such
 * character and lower-cases it, and neither its whitespace collapsing nor its case-folding of the other
 * characters (in a counted line none is a word character, and case-folding none of them gives an ASCII
 * letter or digit: checked over all of Unicode) makes, joins or splits a run; so lines with the same
 * normalised form have the same norm_hash. head_hash hashes the first 16 characters of the stripped line
 * (_may_repeat's head). ``comment``: the line's first run of letters and digits, lower-cased, starts with
 * one of the strings of ``comment_starts`` (the normalised line starts with that run, or with a
 * non-ASCII character). Inlined for one-byte strings and for the others. */
static inline __attribute__((always_inline)) int line_scan(const Screen *sc, PyObject *comment_starts, int kind,
                                                           const void *d, Py_ssize_t len, int hash_norm,
                                                           int want_bar, LineShape *sh) {
    Py_ssize_t a = 0, b = len;
    while (a < b && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, a))) a++;
    while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, b - 1))) b--;
    Py_UCS4 last = b > a ? PyUnicode_READ(kind, d, b - 1) : 0;
    sh->colon_end = last == ':';
    sh->title_end = last != ':' && last != ',';
    int lets = sc == NULL;
    Py_ssize_t first_alnum = -1;
    /* The hash of the first letters and digits (with hash_norm), and where the first one is. */
    uint64_t h = FNV_BASIS;
    {
        int in_run = 0, n = 0;
        for (Py_ssize_t i = 0; i < len && (first_alnum < 0 || (hash_norm && n < NORM_HASH_CHARS)); i++) {
            Py_UCS4 c = PyUnicode_READ(kind, d, i);
            unsigned char lower = c < 128 ? ALNUM_LOWER[c] : 0; /* the letter or digit lower-cased, else 0 */
            if (lower) {
                if (first_alnum < 0) first_alnum = i;
                if (hash_norm) {
                    if (!in_run && n) h = (h ^ 0x100) * FNV_PRIME; /* a boundary between two runs */
                    h = (h ^ lower) * FNV_PRIME;
                    n++;
                }
                in_run = 1;
            } else {
                in_run = 0;
            }
        }
    }
    sh->bar = 0;
    if (want_bar) {
        for (Py_ssize_t i = 0; i < len && !sh->bar; i++) sh->bar = PyUnicode_READ(kind, d, i) == '|';
    }
    Py_ssize_t alnum = 0;
    if (!lets && sc->alnum > 0) {
        for (Py_ssize_t i = 0; i < len; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, d, i);
            alnum += c < 128 && ALNUM_LOWER[c];
        }
    }
    uint8_t stop = (uint8_t)(SC_CHAR | SC_CASED | SC_HINT | (sh->ends ? 0 : SC_UNENDED));
    for (Py_ssize_t i = 0; i < len && !lets; i++) {
        if (kind == PyUnicode_1BYTE_KIND) {
            /* to the next character the loop below would look at (Screen.stops) */
            const unsigned char *p = d, *t = sc->stops[sh->ends ? 1 : 0];
            unsigned key = (unsigned)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
            while (!(t[key >> 3] >> (key & 7) & 1) && ++i < len) key = (unsigned)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
            if (i >= len) break;
        }
        Py_UCS4 c = PyUnicode_READ(kind, d, i);
        if (c >= 256) {
            if ((sc->chars_wide && str_has(sc->chars, c)) ||
                (!sh->ends && sc->unended_wide && str_has(sc->unended, c)) ||
                (sc->cased_wide && any_hint_at(sc->cased, 0, kind, d, len, i)) ||
                (sc->hints_wide && any_hint_at(sc->hints, 1, kind, d, len, i)))
                lets = 1;
            continue;
        }
        uint8_t f = sc->cls[c];
        if (!(f & stop)) continue;
        if (f & (SC_CHAR | (SC_UNENDED & stop))) {
            lets = 1;
        } else if (f & SC_CASED) {
            Py_UCS4 next = i + 1 < len ? PyUnicode_READ(kind, d, i + 1) : 0;
            if (next >= 256 ? sc->cased_wide : (sc->cased_bigram[(c << 8 | next) >> 3] >> (next & 7) & 1))
                lets = prefix_at(sc->cased, &sc->cased_at, 0, kind, d, len, i);
        }
        if (lets) {
            continue;
        } else if (f & SC_HINT) {
            Py_UCS4 lc = ascii_lower(c), next = i + 1 < len ? ascii_lower(PyUnicode_READ(kind, d, i + 1)) : 0;
            if (next >= 256 ? sc->hints_wide : (sc->bigram[(lc << 8 | next) >> 3] >> (next & 7) & 1))
                lets = prefix_at(sc->hints, &sc->hints_at, 1, kind, d, len, i);
        }
    }
    sh->norm_hash = fmix64(h);
    h = FNV_BASIS;
    Py_ssize_t head_end = b - a < 16 ? b : a + 16;
    for (Py_ssize_t i = a; i < head_end; i++) h = (h ^ PyUnicode_READ(kind, d, i)) * FNV_PRIME;
    sh->head_hash = fmix64(h ^ (uint64_t)(head_end - a) << 56);
    sh->comment = 0;
    if (first_alnum >= 0) {
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(comment_starts) && !sh->comment; k++)
            sh->comment = hint_at(PyTuple_GET_ITEM(comment_starts, k), 1, kind, d, len, first_alnum);
    }
    if (!lets) {
        lets = sc->alnum > 0 && alnum <= sc->alnum; /* 0: no such property */
        if (!lets && sc->capitals && a + 1 < b) {
            Py_UCS4 x = PyUnicode_READ(kind, d, a), y = PyUnicode_READ(kind, d, a + 1);
            lets = x >= 'A' && x <= 'Z' && y >= 'A' && y <= 'Z';
        }
        if (!lets && a < b) lets = prefix_at(sc->starts, &sc->starts_at, 1, kind, d, b, a) || str_has(sc->ends, last);
        if (!lets && first_alnum >= 0) {
            Py_ssize_t run_end = first_alnum;
            while (run_end < len) {
                Py_UCS4 c = PyUnicode_READ(kind, d, run_end);
                if (!(c < 128 && ascii_alnum((unsigned char)c))) break;
                run_end++;
            }
            lets = prefix_at(sc->lead, &sc->lead_at, 1, kind, d, run_end, first_alnum) ||
                   (PyTuple_GET_SIZE(sc->first_words) && first_word_in(sc, kind, d, first_alnum, run_end));
        }
        Py_ssize_t head_end = sc->head < b - a ? a + sc->head : b; /* head >= 0 (screen_new) */
        for (Py_ssize_t i = a; !lets && i < head_end; i++)
            lets = str_has(sc->head_chars, PyUnicode_READ(kind, d, i));
    }
    return lets;
}

static int line_scan_any(const Screen *sc, PyObject *comment_starts, int kind, const void *d, Py_ssize_t len,
                         int hash_norm, int want_bar, LineShape *sh) {
    /* one copy per string kind (two-byte strings: news with curly quotes or dashes) */
    return kind == PyUnicode_1BYTE_KIND
               ? line_scan(sc, comment_starts, PyUnicode_1BYTE_KIND, d, len, hash_norm, want_bar, sh)
           : kind == PyUnicode_2BYTE_KIND
               ? line_scan(sc, comment_starts, PyUnicode_2BYTE_KIND, d, len, hash_norm, want_bar, sh)
               : line_scan(sc, comment_starts, PyUnicode_4BYTE_KIND, d, len, hash_norm, want_bar, sh);
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Whether two of the n values are equal (sorts them). */
static int has_equal(uint64_t *values, Py_ssize_t n) {
    qsort(values, (size_t)n, sizeof(uint64_t), cmp_u64);
    for (Py_ssize_t k = 1; k < n; k++)
        if (values[k] == values[k - 1]) return 1;
    return 0;
}

/* The block pass of a document where no line has a verdict (cleaner.Cleaner._judge): whether it is
 * in English (cleaner._is_english), its main block (find_main_block: *first, *last, -1 without one),
 * and whether the block rules would remove nothing from it (cleaner._block_quiet: no line outside the
 * block but the headline found by find_headline, no two lines that may repeat). ``params``: the
 * cleaner's constants (see cleaner._BLOCK_PARAMS). Returns -1 on a memory error. */
static int block_quiet(const LineShape *sh, Py_ssize_t m, const double *params, int *english, Py_ssize_t *first,
                       Py_ssize_t *last) {
    double prose_cap = params[0], penalty = params[1], list_items = params[2], sentence_gain = params[3],
           english_density = params[4], title_min = params[5], title_max = params[6], repeat_words = params[7],
           list_words = params[8], list_colon_words = params[9], headline_min = params[10];
    Py_ssize_t long_lines = 0, english_lines = 0;
    for (Py_ssize_t p = 0; p < m; p++) {
        if (sh[p].words < 8) continue;
        long_lines++;
        if ((double)sh[p].stops / (double)sh[p].words >= english_density) english_lines++;
    }
    *english = english_lines >= (long_lines < 2 ? long_lines : 2) && english_lines > 0;
    *first = *last = -1;
    if (*english) {
        double best = 0.0, score = 0.0, in_list = 0;
        Py_ssize_t start = 0;
        for (Py_ssize_t p = 0; p < m; p++) {
            Py_ssize_t n = sh[p].words;
            double density = n ? (double)sh[p].stops / (double)n : 0.0, gain;
            if (line_is_prose(n, sh[p].stops, sh[p].ends)) {
                gain = n < prose_cap ? (double)n : prose_cap;
                in_list = 0;
            } else if (n >= 3 && n < 8 && sh[p].ends && density >= 0.15) { /* _LineShape.is_sentence */
                gain = sentence_gain;
            } else if (in_list && n <= list_words) {
                gain = 0;
                in_list -= 1;
            } else {
                gain = -penalty;
            }
            if (sh[p].colon_end && n >= list_colon_words && score > 0) in_list = list_items;
            if (score <= 0) {
                score = 0.0;
                start = p;
            }
            score += gain;
            if (score > best) {
                best = score;
                *first = start;
                *last = p;
            }
        }
    }
    if (*first >= 0) {
        Py_ssize_t outside = *first + m - 1 - *last;
        /* The headline, when the block starts at the second line: the first, if title-like. */
        if (outside == 1 && *first == 1 && sh[0].words >= headline_min && sh[0].words >= title_min &&
            sh[0].words <= title_max && sh[0].title_end && !sh[0].bar && !sh[0].ends)
            outside = 0;
        if (outside) return 0;
    }
    uint64_t *hashes = PyMem_Malloc(sizeof(uint64_t) * (size_t)(2 * m + 1));
    if (!hashes) return -1;
    Py_ssize_t n = 0;
    for (Py_ssize_t p = 0; p < m; p++)
        if (sh[p].words >= repeat_words) hashes[n++] = sh[p].norm_hash;
    int repeat = has_equal(hashes, n);
    if (!repeat) {
        n = 0;
        for (Py_ssize_t p = 0; p < m; p++)
            if (sh[p].words >= repeat_words) hashes[n++] = sh[p].head_hash;
        repeat = has_equal(hashes, n);
    }
    PyMem_Free(hashes);
    return !repeat;
}

/* doc_lines(stopwords, lines, screens, limits, block, comment_starts) -> (items, english, quiet, first, last,
 * check). ``screens``: capsules of screen_new, for lines of at most limits[k] words (the first limit that
 * allows them; the last screen for longer lines: rules.ScreenTiers). ``items``: for each non-blank line of
 * the list ``lines`` (str), in order, either its index, when the cleaner's screened line rules must see
 * it (its screen lets it through, or it has non-ASCII word characters, left to Python), or (index, words,
 * stopwords among them, ends_sentence) as line_stats counts them, for a line the screen keeps from
 * those rules. When every line was counted, ``english``
 * and ``quiet`` are block_quiet's (``block``: its constants), ``first``, ``last`` the main block (-1
 * without one) and ``check`` the positions (among the non-blank lines) inside the block after its
 * first line that may start a comments heading (line_scan's ``comment``, of ``comment_starts``); else
 * ``english`` is None and ``quiet`` False. */
static PyObject *doc_lines(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *vcap, *lines, *screens, *limits_tuple, *block, *comment_starts;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!", &vcap, &PyList_Type, &lines, &PyTuple_Type, &screens, &PyTuple_Type,
                          &limits_tuple, &PyTuple_Type, &block, &PyTuple_Type, &comment_starts))
        return NULL;
    Vocab *v = PyCapsule_GetPointer(vcap, VOCAB_CAPSULE);
    if (!v) return NULL;
    /* screens[k] for lines of at most limits[k] words (the first that allows them), the last for longer */
    enum { MAX_TIERS = 32 };
    Py_ssize_t n_tiers = PyTuple_GET_SIZE(screens), limits[MAX_TIERS];
    Screen *tiers[MAX_TIERS];
    if (n_tiers < 1 || n_tiers > MAX_TIERS || PyTuple_GET_SIZE(limits_tuple) != n_tiers - 1) {
        PyErr_SetString(PyExc_ValueError, "doc_lines: one screen more than limits, at most 32");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n_tiers; k++) {
        tiers[k] = PyCapsule_GetPointer(PyTuple_GET_ITEM(screens, k), SCREEN_CAPSULE);
        if (!tiers[k]) return NULL;
        if (k < n_tiers - 1) {
            limits[k] = PyLong_AsSsize_t(PyTuple_GET_ITEM(limits_tuple, k));
            if (limits[k] == -1 && PyErr_Occurred()) return NULL;
        }
    }
    double params[11];
    if (PyTuple_GET_SIZE(block) != 11) {
        PyErr_SetString(PyExc_ValueError, "doc_lines: block takes 11 values");
        return NULL;
    }
    for (int k = 0; k < 11; k++) {
        params[k] = PyFloat_AsDouble(PyTuple_GET_ITEM(block, k));
        if (params[k] == -1.0 && PyErr_Occurred()) return NULL;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(comment_starts); k++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(comment_starts, k))) {
            PyErr_SetString(PyExc_TypeError, "doc_lines: comment_starts must be str");
            return NULL;
        }
    }
    int shapes = vocab_shapes(v);
    Py_ssize_t n_lines = PyList_GET_SIZE(lines), m = 0;
    int counted_all = 1;
    LineShape *sh = PyMem_Malloc(sizeof(LineShape) * (size_t)(n_lines + 1));
    PyObject *out = PyList_New(0), *check = NULL;
    if (!sh || !out) {
        PyMem_Free(sh);
        Py_XDECREF(out);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; k < n_lines; k++) {
        PyObject *text = PyList_GET_ITEM(lines, k);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "doc_lines: lines must be str");
            goto fail;
        }
        int kind = PyUnicode_KIND(text);
        const void *d = PyUnicode_DATA(text);
        Py_ssize_t len = PyUnicode_GET_LENGTH(text);
        int blank = 1;
        for (Py_ssize_t i = 0; i < len && blank; i++) blank = Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, i));
        if (blank) continue;
        LineShape *line = &sh[m];
        int lets = 1;
        if (count_words(kind, d, len, v, shapes, &line->words, &line->stops) == 0) {
            line->ends = ends_sentence_in(kind, d, 0, len);
            Py_ssize_t tier = 0;
            while (tier < n_tiers - 1 && limits[tier] < line->words) tier++;
            Screen *sc = tiers[tier];
            lets = line_scan_any(line->words <= sc->words ? NULL : sc, comment_starts, kind, d, len,
                                 line->words >= params[7], m == 0, line);
            m++;
        } else {
            counted_all = 0;
        }
        PyObject *item = lets ? PyLong_FromSsize_t(k)
                              : Py_BuildValue("nnnN", k, line->words, line->stops, PyBool_FromLong(line->ends));
        if (!item || PyList_Append(out, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
    }
    int english = -1, quiet = 0;
    Py_ssize_t first = -1, last = -1;
    check = PyList_New(0);
    if (!check) goto fail;
    if (counted_all && m) {
        quiet = block_quiet(sh, m, params, &english, &first, &last);
        if (quiet < 0) {
            PyErr_NoMemory();
            goto fail;
        }
        for (Py_ssize_t p = first + 1; first >= 0 && p <= last; p++) {
            if (!sh[p].comment) continue;
            PyObject *at = PyLong_FromSsize_t(p);
            if (!at || PyList_Append(check, at) < 0) {
                Py_XDECREF(at);
                goto fail;
            }
            Py_DECREF(at);
        }
    }
    PyMem_Free(sh);
    return Py_BuildValue("NNNnnN", out, english < 0 ? Py_NewRef(Py_None) : PyBool_FromLong(english),
                         PyBool_FromLong(quiet), first, last, check);
fail:
    PyMem_Free(sh);
    Py_DECREF(out);
    Py_XDECREF(check);
    return NULL;
}

static inline int sent_closer(Py_UCS4 c) {
    return c == '"' || c == '\'' || c == 0x201D || c == 0x2019 || c == ')' || c == ']';
}

static inline int sent_opener(Py_UCS4 c) {
    return c == '"' || c == '\'' || c == 0x201C || c == 0x2018 || c == '(' || c == '[';
}

static inline int sent_start(Py_UCS4 c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c >= 0xC0 && c <= 0x24F);
}

static inline int uni_word(Py_UCS4 c) { return c == '_' || Py_UNICODE_ISALNUM(c); }

/* The end of the match of normalize._SENT_END at p (a mark .!?), or -1: closers, then a run of
 * whitespace, then (looked at, not taken) an optional opener and a capital, digit or Latin letter.
 * None of the parts can give back characters to the next one, so there is nothing to backtrack. */
static inline __attribute__((always_inline)) Py_ssize_t sent_end_match(int kind, const void *d, Py_ssize_t p,
                                                                         Py_ssize_t stop) {
    Py_UCS4 c = PyUnicode_READ(kind, d, p);
    if (c != '.' && c != '!' && c != '?') return -1;
    Py_ssize_t q = p + 1;
    while (q < stop && sent_closer(PyUnicode_READ(kind, d, q))) q++;
    Py_ssize_t ws = q;
    while (q < stop && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, q))) q++;
    if (q == ws || q >= stop) return -1;
    c = PyUnicode_READ(kind, d, q);
    if (sent_opener(c)) {
        if (q + 1 >= stop) return -1;
        c = PyUnicode_READ(kind, d, q + 1);
    }
    return sent_start(c) ? q : -1;
}

/* Whether the ASCII head d[a..end) (ending with the mark at end - 1) ends a sentence at an
 * abbreviation or initial, as normalize._abbreviation_end decides: not after five word characters
 * and a dot; else a listed abbreviation or a single letter before the final dot, after a word
 * boundary (the head's start counts as one), letters compared without case. */
static int ascii_abbreviation_end(int kind, const void *d, Py_ssize_t a, Py_ssize_t end, PyObject *abbrevs) {
    Py_ssize_t len = end - a;
#define AT(i) PyUnicode_READ(kind, d, a + (i))
#define WORD(c) ((c) < 128 && ascii_word_char((unsigned char)(c)))
    if (AT(len - 1) != '.') return 0;
    if (len >= 6) {
        int five = 1;
        for (Py_ssize_t i = len - 6; i < len - 1 && five; i++) five = WORD(AT(i));
        if (five) return 0;
    }
    if (len >= 2) {
        Py_UCS4 c = AT(len - 2);
        if (((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) && (len == 2 || !WORD(AT(len - 3)))) return 1;
    }
    Py_ssize_t n_abbrevs = PyTuple_GET_SIZE(abbrevs);
    for (Py_ssize_t k = 0; k < n_abbrevs; k++) {
        PyObject *w = PyTuple_GET_ITEM(abbrevs, k);
        Py_ssize_t wl = PyUnicode_GET_LENGTH(w);
        if (wl + 1 > len) continue;
        Py_ssize_t at = len - 1 - wl;
        int same = 1;
        for (Py_ssize_t i = 0; i < wl && same; i++) {
            Py_UCS4 c = AT(at + i);
            if (c >= 'A' && c <= 'Z') c += 32;
            same = c == PyUnicode_READ_CHAR(w, i);
        }
        if (same && (at == 0 || !WORD(AT(at - 1)))) return 1;
    }
    return 0;
#undef AT
#undef WORD
}

/* Python's str.splitlines line break (Py_UNICODE_ISLINEBREAK, a call into the Unicode database),
 * decided inline for ASCII. */
static inline int is_linebreak(Py_UCS4 c) {
    if (c < 128) return c == '\n' || c == '\r' || c == 0x0B || c == 0x0C || (c >= 0x1C && c <= 0x1E);
    return Py_UNICODE_ISLINEBREAK(c);
}

/* is_linebreak of each Latin-1 character, and whether it is one of the marks that end a sentence
 * (sent_end_match): the scans of one-byte strings at one load a character. */
static unsigned char LINEBREAK_LATIN1[256], SENT_MARK_LATIN1[256];

static void latin1_marks_init(void) {
    for (int c = 0; c < 256; c++) {
        LINEBREAK_LATIN1[c] = (unsigned char)is_linebreak((Py_UCS4)c);
        SENT_MARK_LATIN1[c] = c == '.' || c == '!' || c == '?';
    }
}

/* Receives each sentence [a, b) of sentence_spans; returns -1 to stop with an exception set. */
typedef int (*SpanSink)(void *ctx, Py_ssize_t a, Py_ssize_t b);

static int emit_stripped(SpanSink emit, void *ctx, int kind, const void *d, Py_ssize_t a, Py_ssize_t b) {
    while (a < b && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, a))) a++;
    while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, b - 1))) b--;
    return a == b ? 0 : emit(ctx, a, b);
}

/* abbreviations as split_sentences takes them (checked once per call): 0, or -1 with ValueError. */
static int check_abbreviations(PyObject *abbrevs, Py_ssize_t tail) {
    if (tail < 1) {
        PyErr_SetString(PyExc_ValueError, "tail must be at least 1");
        return -1;
    }
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(abbrevs); k++) {
        PyObject *w = PyTuple_GET_ITEM(abbrevs, k);
        /* the check below compares lower-cased text and takes a word boundary before the first letter */
        int ok = PyUnicode_Check(w) && PyUnicode_IS_ASCII(w) && PyUnicode_GET_LENGTH(w) > 0 &&
                 ascii_alnum((unsigned char)PyUnicode_READ_CHAR(w, 0));
        for (Py_ssize_t i = 0; ok && i < PyUnicode_GET_LENGTH(w); i++) {
            Py_UCS4 c = PyUnicode_READ_CHAR(w, i);
            ok = !(c >= 'A' && c <= 'Z');
        }
        if (!ok) {
            PyErr_SetString(PyExc_ValueError,
                            "abbreviations must be lower-case ASCII strings starting with a letter or digit");
            return -1;
        }
    }
    return 0;
}

/* The sentences of text as normalize.split_sentences finds them, given to emit as spans of the
 * text (stripped, non-empty, in order); arguments as split_sentences' (checked by the caller). */
static inline __attribute__((always_inline)) int sentence_spans_of(int kind, PyObject *text, PyObject *abbrevs,
                                                                   Py_ssize_t tail, PyObject *fallback, SpanSink emit,
                                                                   void *ctx) {
    const void *d = PyUnicode_DATA(text);
    int ascii = PyUnicode_IS_ASCII(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    Py_ssize_t i = 0;
    while (i < len) {
        /* one line (str.splitlines), stripped */
        Py_ssize_t ls = i;
        if (kind == PyUnicode_1BYTE_KIND) {
            const Py_UCS1 *s = d;
            while (i < len && !LINEBREAK_LATIN1[s[i]]) i++;
        } else {
            while (i < len && !is_linebreak(PyUnicode_READ(kind, d, i))) i++;
        }
        Py_ssize_t le = i;
        if (i < len) {
            if (PyUnicode_READ(kind, d, i) == '\r' && i + 1 < len && PyUnicode_READ(kind, d, i + 1) == '\n') i++;
            i++;
        }
        while (ls < le && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, ls))) ls++;
        while (le > ls && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, le - 1))) le--;
        if (ls == le) continue;
        Py_ssize_t start = ls;
        for (Py_ssize_t p = ls; p < le; p++) {
            if (kind == PyUnicode_1BYTE_KIND) { /* to the next '.', '!' or '?' (sent_end_match's first test) */
                const Py_UCS1 *s = d;
                while (p < le && !SENT_MARK_LATIN1[s[p]]) p++;
                if (p >= le) break;
            }
            Py_ssize_t m_end = sent_end_match(kind, d, p, le);
            if (m_end < 0) continue;
            Py_ssize_t end = p + 1, a = end - tail > start ? end - tail : start;
            int head_ascii = ascii;
            if (!ascii) {
                head_ascii = 1;
                for (Py_ssize_t q = a; q < end && head_ascii; q++) head_ascii = PyUnicode_READ(kind, d, q) < 128;
            }
            int abbrev;
            if (head_ascii) {
                abbrev = ascii_abbreviation_end(kind, d, a, end, abbrevs);
            } else {
                PyObject *head = PyUnicode_Substring(text, a, end);
                PyObject *res = head ? PyObject_CallOneArg(fallback, head) : NULL;
                Py_XDECREF(head);
                abbrev = res ? PyObject_IsTrue(res) : -1;
                Py_XDECREF(res);
                if (abbrev < 0) return -1;
            }
            if (abbrev) {
                p = m_end - 1; /* finditer goes on after the match */
                continue;
            }
            if (emit_stripped(emit, ctx, kind, d, start, end) < 0) return -1;
            start = m_end;
            p = m_end - 1;
        }
        if (emit_stripped(emit, ctx, kind, d, start, le) < 0) return -1;
    }
    return 0;
}

/* (one copy of the scan per string kind: the reads below are then plain loads) */
static int sentence_spans(PyObject *text, PyObject *abbrevs, Py_ssize_t tail, PyObject *fallback, SpanSink emit,
                          void *ctx) {
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        return sentence_spans_of(PyUnicode_1BYTE_KIND, text, abbrevs, tail, fallback, emit, ctx);
    case PyUnicode_2BYTE_KIND:
        return sentence_spans_of(PyUnicode_2BYTE_KIND, text, abbrevs, tail, fallback, emit, ctx);
    default:
        return sentence_spans_of(PyUnicode_4BYTE_KIND, text, abbrevs, tail, fallback, emit, ctx);
    }
}

typedef struct {
    PyObject *text, *out;
} SubstringSink;

static int append_substring(void *ctx, Py_ssize_t a, Py_ssize_t b) {
    SubstringSink *sink = ctx;
    PyObject *piece = PyUnicode_Substring(sink->text, a, b);
    if (!piece) return -1;
    int rc = PyList_Append(sink->out, piece);
    Py_DECREF(piece);
    return rc;
}

/* split_sentences(text, abbreviations, tail, abbreviation_end) -> list of str:
 * normalize.split_sentences. ``abbreviations`` is the tuple of lower-case ASCII abbreviations of
 * normalize._ABBREV, ``tail`` normalize._ABBREV_TAIL (how much of the text before a mark is looked
 * at), and ``abbreviation_end(head)`` decides heads that hold a non-ASCII character
 * (case-insensitive matching there follows the regex engine's own rules). */
static PyObject *split_sentences(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *text, *abbrevs, *fallback;
    Py_ssize_t tail;
    if (!PyArg_ParseTuple(args, "UO!nO", &text, &PyTuple_Type, &abbrevs, &tail, &fallback)) return NULL;
    if (check_abbreviations(abbrevs, tail) < 0) return NULL;
    SubstringSink sink = {text, PyList_New(0)};
    if (!sink.out) return NULL;
    if (sentence_spans(text, abbrevs, tail, fallback, append_substring, &sink) < 0) {
        Py_DECREF(sink.out);
        return NULL;
    }
    return sink.out;
}

/* char_counts(sentences, bins, out): for each str of ``sentences`` (a list or tuple), how many of
 * its characters fall in each of 32 classes, into the int32 rows of ``out`` (len(sentences) x 32):
 * an ASCII character in class bins[c] (uint8[128], align._CHAR_BIN), a non-ASCII one in
 * 28 + (code point & 3) (align.char_counts). */
static PyObject *char_counts(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *seq, *objs[2];
    if (!PyArg_ParseTuple(args, "OOO", &seq, &objs[0], &objs[1])) return NULL;
    PyObject *fast = PySequence_Fast(seq, "sentences must be a sequence");
    if (!fast) return NULL;
    Buf bufs[2];
    static const Py_ssize_t sizes[2] = {1, 4};
    static const int writable[2] = {0, 1};
    static const char kinds[2] = {'i', 'i'};
    static const char *names[2] = {"bins", "out"};
    if (get_bufs(objs, bufs, 2, sizes, kinds, writable, names) < 0) {
        Py_DECREF(fast);
        return NULL;
    }
    const unsigned char *bin = bufs[0].view.buf;
    int bad = bufs[0].view.len != 128;
    for (int c = 0; !bad && c < 128; c++) bad = bin[c] >= 32;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (bad || bufs[1].view.len / 4 != n * 32) {
        release(bufs, 2);
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, bad ? "bins must be 128 classes below 32"
                                              : "out must hold len(sentences) x 32 values");
        return NULL;
    }
    int32_t *out = bufs[1].view.buf;
    memset(out, 0, (size_t)n * 32 * sizeof(int32_t));
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast, k);
        if (!PyUnicode_Check(t)) {
            release(bufs, 2);
            Py_DECREF(fast);
            PyErr_SetString(PyExc_TypeError, "sentences must be str");
            return NULL;
        }
        int32_t *row = out + k * 32;
        Py_ssize_t len = PyUnicode_GET_LENGTH(t);
        if (PyUnicode_IS_ASCII(t)) {
            const unsigned char *d = PyUnicode_1BYTE_DATA(t);
            for (Py_ssize_t i = 0; i < len; i++) row[bin[d[i]]]++;
        } else {
            int kind = PyUnicode_KIND(t);
            const void *d = PyUnicode_DATA(t);
            for (Py_ssize_t i = 0; i < len; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, d, i);
                row[c < 128 ? bin[c] : 28 + (c & 3)]++;
            }
        }
    }
    release(bufs, 2);
    Py_DECREF(fast);
    Py_RETURN_NONE;
}

/* sentence_words' work on checked buffers; -1 when memory runs out (nothing set). */
static int sentence_words_core(const uint64_t *hashes, const int64_t *rows, Py_ssize_t m, uint64_t *vocab, int64_t *df,
                               int64_t *out_rows, int64_t *out_cols, Py_ssize_t *words_out, Py_ssize_t *entries_out) {
    /* Open addressing on the hash's low bits (the values are hashes already): the word's number and
     * the last sentence it was seen in; a few times more slots than words. */
    size_t cap = 16;
    while (cap < (size_t)m * 2) cap <<= 1;
    int64_t small[2 * 1024];
    int64_t *slots = cap <= 1024 ? small : malloc(cap * 2 * sizeof(int64_t));
    if (!slots) return -1;
    for (size_t k = 0; k < cap; k++) slots[2 * k] = -1;
    Py_ssize_t words = 0, entries = 0;
    for (Py_ssize_t k = 0; k < m; k++) {
        uint64_t h = hashes[k];
        size_t at = (size_t)(h ^ (h >> 29)) & (cap - 1);
        while (slots[2 * at] >= 0 && vocab[slots[2 * at]] != h) at = (at + 1) & (cap - 1);
        if (slots[2 * at] < 0) {
            slots[2 * at] = words;
            slots[2 * at + 1] = -1;
            vocab[words] = h;
            df[words] = 0;
            words++;
        }
        int64_t w = slots[2 * at];
        if (slots[2 * at + 1] != rows[k]) {  /* first use in this sentence (rows never go back) */
            slots[2 * at + 1] = rows[k];
            df[w]++;
            out_rows[entries] = rows[k];
            out_cols[entries] = w;
            entries++;
        }
    }
    if (slots != small) free(slots);
    *words_out = words;
    *entries_out = entries;
    return 0;
}

/* sentence_words(hashes, rows, vocab, df, out_rows, out_cols) -> (words, entries): the content words
 * of sentences given as each word's hash (uint64, in text order) and sentence (int64 rows,
 * non-decreasing). Words are numbered in order of first use: vocab[w] is the hash of word w and
 * df[w] the number of sentences that hold it; each (sentence, word) is one entry, at the first use
 * of the word in that sentence, in text order: out_rows[e], out_cols[e]. Every output holds at least
 * len(hashes) values. What align._SentenceWords.of_hashes computes with NumPy. */
static PyObject *sentence_words(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[6];
    if (!PyArg_ParseTuple(args, "OOOOOO", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &objs[5])) return NULL;
    Buf bufs[6];
    static const Py_ssize_t sizes[6] = {8, 8, 8, 8, 8, 8};
    static const int writable[6] = {0, 0, 1, 1, 1, 1};
    static const char kinds[6] = {'i', 'i', 'i', 'i', 'i', 'i'};
    static const char *names[6] = {"hashes", "rows", "vocab", "df", "out_rows", "out_cols"};
    if (get_bufs(objs, bufs, 6, sizes, kinds, writable, names) < 0) return NULL;
    const uint64_t *hashes = bufs[0].view.buf;
    const int64_t *rows = bufs[1].view.buf;
    uint64_t *vocab = bufs[2].view.buf;
    int64_t *df = bufs[3].view.buf, *out_rows = bufs[4].view.buf, *out_cols = bufs[5].view.buf;
    Py_ssize_t m = bufs[0].view.len / 8;
    const char *bad = NULL;
    if (bufs[1].view.len / 8 != m) bad = "hashes and rows differ in length";
    else if (bufs[2].view.len / 8 < m || bufs[3].view.len / 8 < m || bufs[4].view.len / 8 < m ||
             bufs[5].view.len / 8 < m)
        bad = "outputs too small";
    if (!bad && m && rows[0] < 0) bad = "rows must be non-negative";
    for (Py_ssize_t k = 1; !bad && k < m; k++)
        if (rows[k] < rows[k - 1]) bad = "rows must be non-decreasing";
    if (bad) {
        release(bufs, 6);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Py_ssize_t words, entries;
    int failed = sentence_words_core(hashes, rows, m, vocab, df, out_rows, out_cols, &words, &entries);
    release(bufs, 6);
    if (failed) return PyErr_NoMemory();
    return Py_BuildValue("nn", words, entries);
}

/* collapse_whitespace(strings) -> list: " ".join(s.split()) of each str (whitespace as str.isspace
 * sees it), the string itself when that changes nothing. */
static PyObject *collapse_whitespace(PyObject *self, PyObject *seq) {
    (void)self;
    PyObject *fast = PySequence_Fast(seq, "strings must be a sequence");
    if (!fast) return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    PyObject *out = PyList_New(n);
    if (!out) {
        Py_DECREF(fast);
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *t = PySequence_Fast_GET_ITEM(fast, k);
        if (!PyUnicode_Check(t)) {
            PyErr_SetString(PyExc_TypeError, "strings must be str");
            goto fail;
        }
        int kind = PyUnicode_KIND(t);
        const void *d = PyUnicode_DATA(t);
        Py_ssize_t len = PyUnicode_GET_LENGTH(t);
        /* unchanged: no whitespace but single spaces between other characters */
        int same = 1;
        for (Py_ssize_t i = 0; i < len && same; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, d, i);
            if (c == ' ')
                same = i > 0 && i + 1 < len && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, d, i + 1));
            else
                same = !Py_UNICODE_ISSPACE(c);
        }
        PyObject *r;
        if (same) {
            Py_INCREF(t);
            r = t;
        } else {
            Py_UCS4 *buf = PyMem_Malloc((size_t)(len ? len : 1) * sizeof(Py_UCS4));
            if (!buf) {
                PyErr_NoMemory();
                goto fail;
            }
            Py_ssize_t m = 0;
            int pending = 0;
            for (Py_ssize_t i = 0; i < len; i++) {
                Py_UCS4 c = PyUnicode_READ(kind, d, i);
                if (Py_UNICODE_ISSPACE(c)) {
                    pending = m > 0;
                    continue;
                }
                if (pending) buf[m++] = ' ';
                pending = 0;
                buf[m++] = c;
            }
            r = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, m);
            PyMem_Free(buf);
            if (!r) goto fail;
        }
        PyList_SET_ITEM(out, k, r);
    }
    Py_DECREF(fast);
    return out;
fail:
    Py_DECREF(out);
    Py_DECREF(fast);
    return NULL;
}

static PyObject *vocab_size(PyObject *self, PyObject *capsule) {
    (void)self;
    Vocab *v = PyCapsule_GetPointer(capsule, VOCAB_CAPSULE);
    if (!v) return NULL;
    return PyLong_FromSsize_t(v->size);
}


/* --- token hashes: BLAKE2b-64 (shingle.stable_hash64) and the content-word form (normalize.content_form) --- */

static const uint64_t B2B_IV[8] = {0x6A09E667F3BCC908ULL, 0xBB67AE8584CAA73BULL, 0x3C6EF372FE94F82BULL,
                                   0xA54FF53A5F1D36F1ULL, 0x510E527FADE682D1ULL, 0x9B05688C2B3E6C1FULL,
                                   0x1F83D9ABFB41BD6BULL, 0x5BE0CD19137E2179ULL};

static const uint8_t B2B_SIGMA[12][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
    {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4}, {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
    {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13}, {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
    {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11}, {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
    {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5}, {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};

#define B2B_ROTR(x, y) (((x) >> (y)) ^ ((x) << (64 - (y))))
#define B2B_G(a, b, c, d, x, y)                 \
    do {                                        \
        v[a] = v[a] + v[b] + (x);               \
        v[d] = B2B_ROTR(v[d] ^ v[a], 32);       \
        v[c] = v[c] + v[d];                     \
        v[b] = B2B_ROTR(v[b] ^ v[c], 24);       \
        v[a] = v[a] + v[b] + (y);               \
        v[d] = B2B_ROTR(v[d] ^ v[a], 16);       \
        v[c] = v[c] + v[d];                     \
        v[b] = B2B_ROTR(v[b] ^ v[c], 63);       \
    } while (0)

static inline uint64_t load_le64(const unsigned char *p) {
    uint64_t w = 0;
    for (int i = 7; i >= 0; i--) w = (w << 8) | p[i];
    return w;
}

/* One compression of RFC 7693 (t: bytes hashed so far, below 2**64 here). */
static void b2b_compress(uint64_t h[8], const unsigned char *block, uint64_t t, int last) {
    uint64_t v[16], m[16];
    for (int i = 0; i < 8; i++) {
        v[i] = h[i];
        v[i + 8] = B2B_IV[i];
    }
    v[12] ^= t;
    if (last) v[14] = ~v[14];
    for (int i = 0; i < 16; i++) m[i] = load_le64(block + 8 * i);
    for (int r = 0; r < 12; r++) {
        const uint8_t *s = B2B_SIGMA[r];
        B2B_G(0, 4, 8, 12, m[s[0]], m[s[1]]);
        B2B_G(1, 5, 9, 13, m[s[2]], m[s[3]]);
        B2B_G(2, 6, 10, 14, m[s[4]], m[s[5]]);
        B2B_G(3, 7, 11, 15, m[s[6]], m[s[7]]);
        B2B_G(0, 5, 10, 15, m[s[8]], m[s[9]]);
        B2B_G(1, 6, 11, 12, m[s[10]], m[s[11]]);
        B2B_G(2, 7, 8, 13, m[s[12]], m[s[13]]);
        B2B_G(3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for (int i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/* BLAKE2b with an 8-byte digest and no key, read as a little-endian integer: hashlib.blake2b(data,
 * digest_size=8), as int.from_bytes(digest, "little"). */
static uint64_t blake2b64(const unsigned char *data, Py_ssize_t n) {
    uint64_t h[8];
    unsigned char block[128];
    memcpy(h, B2B_IV, sizeof(h));
    h[0] ^= 0x01010000ULL ^ 8; /* depth 1, fanout 1, no key, 8-byte digest */
    uint64_t t = 0;
    while (n > 128) {
        t += 128;
        b2b_compress(h, data, t, 0);
        data += 128;
        n -= 128;
    }
    memset(block, 0, sizeof(block));
    if (n > 0) memcpy(block, data, (size_t)n);
    b2b_compress(h, block, t + (uint64_t)n, 1);
    return h[0];
}

/* normalize.content_form of an ASCII token s[0..n) (the stem of a content word, none for a stopword
 * or a one-letter token), as the bytes s[0..*keep) followed by *repl (NUL-terminated); *keep = 0 and
 * *repl = "": no form. */
static void ascii_content_form(const Vocab *stop, const char *s, Py_ssize_t n, Py_ssize_t *keep, const char **repl) {
    static const char *SUFFIX[8] = {"ies", "sses", "ing", "edly", "ed", "ly", "es", "s"};
    static const char *REPL[8] = {"y", "ss", "", "", "", "", "", ""};
    *repl = "";
    *keep = 0;
    if (n <= 1 || vocab_find(stop, s, n) >= 0) return;
    *keep = n;
    if (n <= 3) return;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return; /* str.isalpha */
    }
    for (int k = 0; k < 8; k++) {
        Py_ssize_t ls = (Py_ssize_t)strlen(SUFFIX[k]);
        if (n - ls >= 3 && memcmp(s + n - ls, SUFFIX[k], (size_t)ls) == 0) {
            if (k == 7 && (s[n - 2] == 's' || s[n - 2] == 'u' || s[n - 2] == 'i')) return; /* -ss, -us, -is */
            *keep = n - ls;
            *repl = REPL[k];
            return;
        }
    }
}

/* token_hashes(stopwords, data, out_hashes, out_content) -> list: for each token of ``data`` (UTF-8,
 * tokens separated by single spaces, no empty token), its stable_hash64 and the stable_hash64 of its
 * content form (0 when it has none), as Vocabulary._add would record them. The content form of a
 * token with non-ASCII characters is left to Python: the list holds those tokens' positions. */
static PyObject *token_hashes(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *hashes_obj, *content_obj;
    Py_buffer data;
    if (!PyArg_ParseTuple(args, "Oy*OO", &capsule, &data, &hashes_obj, &content_obj)) return NULL;
    Vocab *stop = PyCapsule_GetPointer(capsule, VOCAB_CAPSULE);
    Buf bufs[2];
    memset(bufs, 0, sizeof(bufs));
    PyObject *left = NULL;
    if (!stop || get_buf(hashes_obj, &bufs[0], 8, 'u', 1, "out_hashes") < 0 ||
        get_buf(content_obj, &bufs[1], 8, 'u', 1, "out_content") < 0)
        goto done;
    left = PyList_New(0);
    if (!left) goto done;
    const char *s = data.buf;
    Py_ssize_t len = data.len, cap = bufs[0].view.len / 8, count = 0;
    if (bufs[1].view.len / 8 < cap) cap = bufs[1].view.len / 8;
    uint64_t *hashes = bufs[0].view.buf, *content = bufs[1].view.buf;
    char form[256];
    for (Py_ssize_t i = 0; i <= len && len > 0;) {
        Py_ssize_t j = i;
        int ascii = 1;
        while (j < len && s[j] != ' ') ascii &= (unsigned char)s[j++] < 0x80;
        if (j == i || count >= cap) {
            PyErr_SetString(PyExc_ValueError, j == i ? "empty token" : "out_hashes or out_content too small");
            Py_CLEAR(left);
            goto done;
        }
        hashes[count] = blake2b64((const unsigned char *)s + i, j - i);
        content[count] = 0;
        if (!ascii) {
            PyObject *at = PyLong_FromSsize_t(count);
            if (!at || PyList_Append(left, at) < 0) {
                Py_XDECREF(at);
                Py_CLEAR(left);
                goto done;
            }
            Py_DECREF(at);
        } else {
            Py_ssize_t keep;
            const char *repl;
            ascii_content_form(stop, s + i, j - i, &keep, &repl);
            Py_ssize_t lr = (Py_ssize_t)strlen(repl);
            if (keep == j - i && !lr) {
                content[count] = hashes[count];
            } else if (keep && !lr) {
                content[count] = blake2b64((const unsigned char *)s + i, keep);
            } else if (keep) { /* "-ies" -> "-y", "-sses" -> "-ss": shorter than the token */
                unsigned char *tmp = keep + lr <= (Py_ssize_t)sizeof(form) ? (unsigned char *)form
                                                                           : PyMem_RawMalloc((size_t)(keep + lr));
                if (!tmp) {
                    PyErr_NoMemory();
                    Py_CLEAR(left);
                    goto done;
                }
                memcpy(tmp, s + i, (size_t)keep);
                memcpy(tmp + keep, repl, (size_t)lr);
                content[count] = blake2b64(tmp, keep + lr);
                if (tmp != (unsigned char *)form) PyMem_RawFree(tmp);
            }
        }
        count++;
        i = j + 1;
    }
    if (count != cap) {
        PyErr_SetString(PyExc_ValueError, "one entry of out_hashes and out_content per token");
        Py_CLEAR(left);
    }
done:
    release(bufs, 2);
    PyBuffer_Release(&data);
    return left;
}


/* --- candidate screening --- */

/* agreement(signatures, num_perm, codes, n, out): for each pair code c = i * n + j, the share of
 * positions where the signatures (uint32 rows of num_perm) of i and j agree, as float32 (the MinHash
 * estimate of their Jaccard similarity; equals NumPy's mean of the equality, rounded to float32). */
MULTIVERSION
static void agreement_loop(const uint32_t *sigs, Py_ssize_t perm, const int64_t *codes, Py_ssize_t m, int64_t n,
                           float *out) {
    for (Py_ssize_t k = 0; k < m; k++) {
        const uint32_t *a = sigs + (codes[k] / n) * perm, *b = sigs + (codes[k] % n) * perm;
        Py_ssize_t same = 0;
        for (Py_ssize_t p = 0; p < perm; p++) same += a[p] == b[p];
        out[k] = (float)((double)same / (double)perm);
    }
}

static PyObject *agreement(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[3];
    Py_ssize_t perm;
    long long n;
    if (!PyArg_ParseTuple(args, "OnOLO", &objs[0], &perm, &objs[1], &n, &objs[2])) return NULL;
    Buf bufs[3];
    static const Py_ssize_t sizes[3] = {4, 8, 4};
    static const int writable[3] = {0, 0, 1};
    static const char kinds[3] = {'i', 'i', 'f'};
    static const char *names[3] = {"signatures", "codes", "out"};
    if (get_bufs(objs, bufs, 3, sizes, kinds, writable, names) < 0) return NULL;
    const uint32_t *sigs = bufs[0].view.buf;
    const int64_t *codes = bufs[1].view.buf;
    Py_ssize_t m = bufs[1].view.len / 8, rows = perm > 0 ? bufs[0].view.len / 4 / perm : 0;
    const char *bad = NULL;
    if (perm < 1 || n < 1 || rows * perm * 4 != bufs[0].view.len) bad = "signatures are not rows of num_perm";
    else if (bufs[2].view.len / 4 < m) bad = "out too small";
    for (Py_ssize_t k = 0; !bad && k < m; k++)
        if (codes[k] < 0 || codes[k] / n >= rows || codes[k] % n >= rows) bad = "pair code out of range";
    if (bad) {
        release(bufs, 3);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    agreement_loop(sigs, perm, codes, m, (int64_t)n, bufs[2].view.buf);
    Py_END_ALLOW_THREADS
    release(bufs, 3);
    Py_RETURN_NONE;
}

/* --- each document's best partners (candidates.TopPartners, compiled) ---
 * A pair (code i * n + j, i < j) with a score is kept while it is among the k best of i's or of j's
 * pairs: higher score first, then the smaller code. Each document keeps a record of its best k so
 * far (codes, scores, count): offering a pair updates both records, in any order, and a pair offered
 * again (it always comes with the same score) changes nothing. The union of the records is then the
 * union of every document's best k of all pairs offered: TopPartners.result. Two threads may only use
 * one at once through topk_add's parts (each writes the records of its own documents). */
typedef struct {
    int64_t n, k;
    size_t rec; /* bytes of a document's record: k codes (int64), k scores (uint16), the count (uint8) */
    unsigned char *recs;
} TopK;

static const char *TOPK_CAPSULE = "dedupe._kernels.TopK";

static void topk_capsule_destructor(PyObject *capsule) {
    TopK *t = PyCapsule_GetPointer(capsule, TOPK_CAPSULE);
    if (!t) return;
    PyMem_RawFree(t->recs);
    PyMem_RawFree(t);
}

static inline unsigned char *topk_record(const TopK *t, int64_t doc) { return t->recs + (size_t)doc * t->rec; }
/* The parts of a record: its codes, its scores, how many it holds. */
static inline int64_t *topk_codes(const TopK *t, unsigned char *r) { (void)t; return (int64_t *)r; }
static inline uint16_t *topk_scores(const TopK *t, unsigned char *r) { return (uint16_t *)(r + 8 * t->k); }
static inline uint8_t *topk_count(const TopK *t, unsigned char *r) { return r + 10 * t->k; }

/* Offer a pair to one of its documents' records. */
static inline void topk_offer_doc(TopK *t, int64_t doc, int64_t code, uint16_t score) {
    unsigned char *r = topk_record(t, doc);
    int64_t *codes = topk_codes(t, r);
    uint16_t *scores = topk_scores(t, r);
    uint8_t *count = topk_count(t, r);
    int c = *count, worst = 0;
    for (int e = 0; e < c; e++) {
        if (codes[e] == code) return;
        if (scores[e] < scores[worst] || (scores[e] == scores[worst] && codes[e] > codes[worst])) worst = e;
    }
    if (c < t->k) {
        codes[c] = code;
        scores[c] = score;
        *count = (uint8_t)(c + 1);
    } else if (score > scores[worst] || (score == scores[worst] && code < codes[worst])) {
        codes[worst] = code;
        scores[worst] = score;
    }
}

static inline void topk_offer(TopK *t, int64_t lo, int64_t hi, uint16_t score) {
    int64_t code = lo * t->n + hi;
    topk_offer_doc(t, lo, code, score);
    topk_offer_doc(t, hi, code, score);
}

static inline void topk_prefetch(const TopK *t, int64_t doc) {
    const unsigned char *r = topk_record(t, doc);
    __builtin_prefetch(r);
    __builtin_prefetch(r + t->rec - 1);
}

/* topk_new(n, k) -> an empty TopK for documents 0..n-1 keeping k partners each (a capsule). */
static PyObject *topk_new(PyObject *self, PyObject *args) {
    (void)self;
    long long n, k;
    if (!PyArg_ParseTuple(args, "LL", &n, &k)) return NULL;
    if (n < 1 || k < 1 || k > 255 || n > ((long long)1 << 31)) {
        PyErr_SetString(PyExc_ValueError, "topk_new: n in [1, 2**31], k in [1, 255]");
        return NULL;
    }
    TopK *t = PyMem_RawCalloc(1, sizeof(TopK));
    if (!t) return PyErr_NoMemory();
    t->n = n;
    t->k = k;
    t->rec = ((size_t)(10 * k + 1) + 7) / 8 * 8;
    t->recs = PyMem_RawCalloc((size_t)n, t->rec); /* zero pages: a record is touched when first offered */
    if (!t->recs) {
        PyMem_RawFree(t);
        return PyErr_NoMemory();
    }
    PyObject *capsule = PyCapsule_New(t, TOPK_CAPSULE, topk_capsule_destructor);
    if (!capsule) {
        PyMem_RawFree(t->recs);
        PyMem_RawFree(t);
    }
    return capsule;
}

/* topk_add(topk, codes, scores[, part, parts]) -> None: offer pairs (int64 codes i * n + j, i < j < n;
 * integer scores in [0, 65535]). With ``parts``, only the records of documents part * n / parts <= d <
 * (part + 1) * n / parts are updated: calls for each part may run at once in threads (the interpreter
 * lock is released), and together they do what one call does. */
static PyObject *topk_add(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *objs[2];
    long long part = 0, parts = 1;
    if (!PyArg_ParseTuple(args, "OOO|LL", &capsule, &objs[0], &objs[1], &part, &parts)) return NULL;
    TopK *t = PyCapsule_GetPointer(capsule, TOPK_CAPSULE);
    if (!t) return NULL;
    if (parts < 1 || part < 0 || part >= parts) {
        PyErr_SetString(PyExc_ValueError, "topk_add: 0 <= part < parts");
        return NULL;
    }
    Buf bufs[2];
    static const Py_ssize_t sizes_[2] = {8, 2};
    static const int writable[2] = {0, 0};
    static const char kinds[2] = {'i', 'i'};
    static const char *names[2] = {"codes", "scores"};
    if (get_bufs(objs, bufs, 2, sizes_, kinds, writable, names) < 0) return NULL;
    const int64_t *codes = bufs[0].view.buf;
    const uint16_t *scores = bufs[1].view.buf;
    Py_ssize_t m = bufs[0].view.len / 8;
    const char *bad = bufs[1].view.len / 2 != m ? "codes and scores differ in length" : NULL;
    for (Py_ssize_t e = 0; !bad && e < m; e++)
        if (codes[e] < 0 || codes[e] / t->n >= codes[e] % t->n) bad = "a code is not i * n + j with i < j < n";
    if (!bad) {
        int64_t from = (int64_t)((__int128)t->n * part / parts), to = (int64_t)((__int128)t->n * (part + 1) / parts);
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t e = 0; e < m; e++) {
            if (e + 8 < m) {
                topk_prefetch(t, codes[e + 8] / t->n);
                topk_prefetch(t, codes[e + 8] % t->n);
            }
            int64_t lo = codes[e] / t->n, hi = codes[e] % t->n;
            if (lo >= from && lo < to) topk_offer_doc(t, lo, codes[e], scores[e]);
            if (hi >= from && hi < to) topk_offer_doc(t, hi, codes[e], scores[e]);
        }
        Py_END_ALLOW_THREADS
    }
    release(bufs, 2);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* topk_result(topk) -> (codes, scores): the pairs kept (each once, in no order) as int64 and uint16
 * bytes. A pair is in its first document's record, or else in its second's. */
static PyObject *topk_result(PyObject *self, PyObject *capsule) {
    (void)self;
    TopK *t = PyCapsule_GetPointer(capsule, TOPK_CAPSULE);
    if (!t) return NULL;
    Py_ssize_t total = 0;
    for (int64_t d = 0; d < t->n; d++) total += *topk_count(t, topk_record(t, d));
    int64_t *codes = PyMem_RawMalloc(sizeof(int64_t) * (size_t)(total + 1));
    uint16_t *scores = PyMem_RawMalloc(sizeof(uint16_t) * (size_t)(total + 1));
    if (!codes || !scores) {
        PyMem_RawFree(codes);
        PyMem_RawFree(scores);
        return PyErr_NoMemory();
    }
    Py_ssize_t m = 0;
    for (int64_t d = 0; d < t->n; d++) {
        unsigned char *r = topk_record(t, d);
        const int64_t *rc = topk_codes(t, r);
        const uint16_t *rs = topk_scores(t, r);
        for (int e = 0; e < *topk_count(t, r); e++) {
            int64_t lo = rc[e] / t->n;
            if (lo != d) { /* under its second document: kept here unless its first holds it */
                unsigned char *q = topk_record(t, lo);
                const int64_t *qc = topk_codes(t, q);
                int held = 0;
                for (int f = 0; f < *topk_count(t, q) && !held; f++) held = qc[f] == rc[e];
                if (held) continue;
            }
            codes[m] = rc[e];
            scores[m++] = rs[e];
        }
    }
    PyObject *out = Py_BuildValue("y#y#", (const char *)codes, m * (Py_ssize_t)sizeof(int64_t), (const char *)scores,
                                  m * (Py_ssize_t)sizeof(uint16_t));
    PyMem_RawFree(codes);
    PyMem_RawFree(scores);
    return out;
}

/* band_screen(signatures, num_perm, docs, starts, sizes, max_bucket, n, min_agree, out_codes, out_scores)
 * -> (pairs, kept): the pairs of the buckets of one LSH band, screened by their signatures' agreement,
 * without making them all. Bucket b is docs[starts[b] : starts[b] + sizes[b]] (document rows of
 * ``signatures``); a bucket of up to max_bucket + 1 documents gives all its pairs, a larger one
 * (sorted by document) pairs each of its first max_bucket documents with those after it. A pair
 * (code i * n + j, i < j) whose signatures agree in at least min_agree of num_perm values is kept:
 * its code and agreement go to out_codes[kept] and out_scores[kept]. Returns the number of pairs
 * of the band and the number kept. What candidates.band_pairs, estimated_jaccard and the screen
 * compute with NumPy. With ``topk`` (topk_new's, for n documents) the pairs kept are offered to it
 * instead of written out (out_codes and out_scores may then be empty). */
MULTIVERSION
#define BAND_PREFETCH 16
#define BAND_AHEAD 4

static int64_t band_screen_loop(const uint32_t *sigs, Py_ssize_t perm, const int64_t *docs, const int64_t *starts,
                                const int64_t *sizes, Py_ssize_t buckets, int64_t max_bucket, int64_t n,
                                int64_t min_agree, int64_t *out_codes, uint16_t *out_scores, TopK *topk,
                                int64_t *kept_out) {
    int64_t pairs = 0, kept = 0;
    for (Py_ssize_t b = 0; b < buckets; b++) {
        const int64_t *d = docs + starts[b];
        int64_t size = sizes[b];
        if (b + BAND_AHEAD < buckets) {
            /* The signatures of the documents of the bucket BAND_AHEAD on (of its first BAND_PREFETCH),
             * fetched while this bucket's pairs are counted: a band's buckets are documents anywhere
             * in the array, most of them two or three (band_screen on the 51 bands of 100k documents'
             * content signatures, /tmp/s12/bandbench2.py: 0.295-0.316 s -> 0.239-0.247 s). */
            const int64_t *next = docs + starts[b + BAND_AHEAD];
            int64_t m = sizes[b + BAND_AHEAD] < BAND_PREFETCH ? sizes[b + BAND_AHEAD] : BAND_PREFETCH;
            for (int64_t i = 0; i < m; i++) {
                for (Py_ssize_t p = 0; p < perm; p += 16) __builtin_prefetch(sigs + next[i] * perm + p);
                if (topk) topk_prefetch(topk, next[i]);
            }
        }
        int64_t heads = size <= max_bucket + 1 ? size - 1 : max_bucket;
        for (int64_t h = 0; h < heads; h++) {
            const uint32_t *ra = sigs + d[h] * perm;
            for (int64_t q = h + 1; q < size; q++) {
                const uint32_t *rb = sigs + d[q] * perm;
                int32_t same = 0; /* 32-bit: one vector add per compare (perm <= 65535) */
                for (Py_ssize_t p = 0; p < perm; p++) same += ra[p] == rb[p];
                pairs++;
                if (same >= min_agree) {
                    int64_t lo = d[h] < d[q] ? d[h] : d[q], hi = d[h] < d[q] ? d[q] : d[h];
                    if (topk) {
                        topk_offer(topk, lo, hi, (uint16_t)same);
                    } else {
                        out_codes[kept] = lo * n + hi;
                        out_scores[kept] = (uint16_t)same;
                    }
                    kept++;
                }
            }
        }
    }
    *kept_out = kept;
    return pairs;
}

static PyObject *band_screen(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[6], *topk_obj = Py_None;
    Py_ssize_t perm;
    long long max_bucket, n, min_agree;
    if (!PyArg_ParseTuple(args, "OnOOOLLLOO|O", &objs[0], &perm, &objs[1], &objs[2], &objs[3], &max_bucket, &n,
                          &min_agree, &objs[4], &objs[5], &topk_obj))
        return NULL;
    TopK *topk = NULL;
    if (topk_obj != Py_None) {
        topk = PyCapsule_GetPointer(topk_obj, TOPK_CAPSULE);
        if (!topk) return NULL;
        if (topk->n != n) {
            PyErr_SetString(PyExc_ValueError, "topk is for another number of documents");
            return NULL;
        }
    }
    Buf bufs[6];
    static const Py_ssize_t sizes_[6] = {4, 8, 8, 8, 8, 2};
    static const int writable[6] = {0, 0, 0, 0, 1, 1};
    static const char kinds[6] = {'i', 'i', 'i', 'i', 'i', 'i'};
    static const char *names[6] = {"signatures", "docs", "starts", "sizes", "out_codes", "out_scores"};
    if (get_bufs(objs, bufs, 6, sizes_, kinds, writable, names) < 0) return NULL;
    const uint32_t *sigs = bufs[0].view.buf;
    const int64_t *docs = bufs[1].view.buf, *starts = bufs[2].view.buf, *sizes = bufs[3].view.buf;
    Py_ssize_t n_docs = bufs[1].view.len / 8, buckets = bufs[2].view.len / 8;
    Py_ssize_t rows = perm > 0 ? bufs[0].view.len / 4 / perm : 0;
    Py_ssize_t room = bufs[4].view.len / 8 < bufs[5].view.len / 2 ? bufs[4].view.len / 8 : bufs[5].view.len / 2;
    const char *bad = NULL;
    if (perm < 1 || perm > 65535 || rows * perm * 4 != bufs[0].view.len) bad = "signatures are not rows of num_perm";
    else if (bufs[3].view.len != bufs[2].view.len) bad = "starts and sizes differ in length";
    else if (max_bucket < 1 || n < 1) bad = "max_bucket and n must be positive";
    int64_t need = 0;
    for (Py_ssize_t b = 0; !bad && b < buckets; b++) {
        if (sizes[b] < 0 || starts[b] < 0 || starts[b] > n_docs || sizes[b] > n_docs - starts[b]) {
            bad = "a bucket lies outside docs";
            break;
        }
        int64_t s = sizes[b];
        need += s <= max_bucket + 1 ? s * (s - 1) / 2 : max_bucket * (s - 1) - max_bucket * (max_bucket - 1) / 2;
    }
    for (Py_ssize_t k = 0; !bad && k < n_docs; k++)
        if (docs[k] < 0 || docs[k] >= rows || docs[k] >= n) bad = "document out of range";
    if (!bad && !topk && need > room) bad = "out_codes and out_scores too small for the band's pairs";
    if (bad) {
        release(bufs, 6);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    int64_t pairs, kept;
    Py_BEGIN_ALLOW_THREADS
    pairs = band_screen_loop(sigs, perm, docs, starts, sizes, buckets, (int64_t)max_bucket, (int64_t)n,
                             (int64_t)min_agree, bufs[4].view.buf, bufs[5].view.buf, topk, &kept);
    Py_END_ALLOW_THREADS
    release(bufs, 6);
    return Py_BuildValue("LL", (long long)pairs, (long long)kept);
}

/* The number of values two sorted unique sets share. */
static inline int64_t sorted_common(const uint64_t *a, int64_t la, const uint64_t *b, int64_t lb) {
    /* Without branches on the values: the sets interleave at random, so a branch on which is smaller
     * is mispredicted about every other step. */
    int64_t x = 0, y = 0, inter = 0;
    while (x < la && y < lb) {
        uint64_t u = a[x], v = b[y];
        inter += u == v;
        x += u <= v;
        y += v <= u;
    }
    return inter;
}

/* Jaccard similarity of two sorted unique sets (1.0 for two empty ones). */
static inline double sorted_jaccard(const uint64_t *a, int64_t la, const uint64_t *b, int64_t lb) {
    int64_t inter = sorted_common(a, la, b, lb);
    return (la == 0 && lb == 0) ? 1.0 : (double)inter / (double)(la + lb - inter);
}

/* quick_hash64(data) -> a 64-bit hash of bytes: the sum (mod 2**64) over the 8-byte little-endian
 * words of the data (the last one padded with zero bytes) of fmix64(word + position * MULTS_BASE),
 * mixed with the length. Order-dependent, every bit mixed, about 0.1 ns per byte; the NumPy
 * version (similarity.shingle.quick_hash64) computes the same. */
static PyObject *quick_hash64(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    const unsigned char *p = view.buf;
    Py_ssize_t n = view.len, full = n / 8;
    uint64_t acc = 0;
    for (Py_ssize_t i = 0; i < full; i++) {
        uint64_t w;
        memcpy(&w, p + 8 * i, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
#endif
        acc += fmix64(w + (uint64_t)i * MULTS_BASE);
    }
    if (n % 8) {
        uint64_t w = 0;
        for (Py_ssize_t j = 0; j < n % 8; j++) w |= (uint64_t)p[8 * full + j] << (8 * j);
        acc += fmix64(w + (uint64_t)full * MULTS_BASE);
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(fmix64(acc ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4FULL)));
}

/* gather_set(table, ids, out) -> m: the distinct nonzero values table[ids[k]], sorted, in out[0..m)
 * (shingle.content_set of a text's content hashes, from its token ids). */
static PyObject *gather_set(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[3];
    if (!PyArg_ParseTuple(args, "OOO", &objs[0], &objs[1], &objs[2])) return NULL;
    Buf bufs[3];
    static const Py_ssize_t sizes[3] = {8, 8, 8};
    static const int writable[3] = {0, 0, 1};
    static const char kinds[3] = {'i', 'i', 'i'};
    static const char *names[3] = {"table", "ids", "out"};
    if (get_bufs(objs, bufs, 3, sizes, kinds, writable, names) < 0) return NULL;
    const uint64_t *table = bufs[0].view.buf;
    const int64_t *ids = bufs[1].view.buf;
    uint64_t *out = bufs[2].view.buf;
    Py_ssize_t n_table = bufs[0].view.len / 8, n = bufs[1].view.len / 8, m = 0;
    if (bufs[2].view.len / 8 < n) {
        release(bufs, 3);
        PyErr_SetString(PyExc_ValueError, "out: one entry per id at least");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        if (ids[k] < 0 || ids[k] >= n_table) {
            release(bufs, 3);
            PyErr_SetString(PyExc_ValueError, "ids: out of the table's range");
            return NULL;
        }
        uint64_t value = table[ids[k]];
        if (value) out[m++] = value;
    }
    uint64_t *tmp = m > 64 ? PyMem_RawMalloc((size_t)m * sizeof(uint64_t)) : NULL;
    if (m > 64 && !tmp) {
        release(bufs, 3);
        return PyErr_NoMemory();
    }
    m = sort_unique(out, tmp, m);
    PyMem_RawFree(tmp);
    release(bufs, 3);
    return PyLong_FromSsize_t(m);
}

/* common_count(a, b) -> the number of values two sorted unique uint64 sets share. */
static PyObject *common_count(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[2];
    if (!PyArg_ParseTuple(args, "OO", &objs[0], &objs[1])) return NULL;
    Buf bufs[2];
    static const Py_ssize_t sizes[2] = {8, 8};
    static const int writable[2] = {0, 0};
    static const char kinds[2] = {'i', 'i'};
    static const char *names[2] = {"a", "b"};
    if (get_bufs(objs, bufs, 2, sizes, kinds, writable, names) < 0) return NULL;
    int64_t inter = sorted_common(bufs[0].view.buf, bufs[0].view.len / 8, bufs[1].view.buf, bufs[1].view.len / 8);
    release(bufs, 2);
    return PyLong_FromLongLong(inter);
}

/* read_sets(fd, offsets, lengths, out): sorted uint64 sets stored in file fd, one after the other
 * into ``out`` (sum(lengths) values): set d is lengths[d] values at byte offsets[d]. One pread each
 * (no shared file position: safe beside other readers), in the order given. Returns None, or
 * raises OSError. */
static PyObject *read_sets(PyObject *self, PyObject *args) {
    (void)self;
    int fd;
    PyObject *objs[3];
    if (!PyArg_ParseTuple(args, "iOOO", &fd, &objs[0], &objs[1], &objs[2])) return NULL;
    Buf bufs[3];
    static const Py_ssize_t sizes[3] = {8, 8, 8};
    static const int writable[3] = {0, 0, 1};
    static const char kinds[3] = {'i', 'i', 'i'};
    static const char *names[3] = {"offsets", "lengths", "out"};
    if (get_bufs(objs, bufs, 3, sizes, kinds, writable, names) < 0) return NULL;
    const int64_t *offsets = bufs[0].view.buf, *lengths = bufs[1].view.buf;
    Py_ssize_t docs = bufs[0].view.len / 8, room = bufs[2].view.len / 8, need = 0;
    const char *bad = bufs[1].view.len != bufs[0].view.len ? "offsets and lengths differ in length" : NULL;
    for (Py_ssize_t d = 0; !bad && d < docs; d++) {
        if (offsets[d] < 0 || lengths[d] < 0 || lengths[d] > (INT64_MAX - offsets[d]) / 8 || lengths[d] > room - need)
            bad = "offsets and lengths must be non-negative, fit in a file and in out";
        else
            need += lengths[d];
    }
    if (bad) {
        release(bufs, 3);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    uint64_t *out = bufs[2].view.buf;
    int failed = 0, err = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t d = 0; d < docs && !failed; d++) {
        char *dst = (char *)out;
        int64_t want = lengths[d] * 8, done = 0;
        while (done < want) {
            ssize_t got = pread(fd, dst + done, (size_t)(want - done), (off_t)(offsets[d] + done));
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                if (got == 0) errno = EIO;
                failed = 1;
                break;
            }
            done += got;
        }
        out += lengths[d];
    }
    err = failed ? errno : 0;
    Py_END_ALLOW_THREADS
    release(bufs, 3);
    if (failed) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

/* set_jaccard(values, starts, lengths, codes, n, out): exact Jaccard similarity (float64) of pairs of
 * sorted unique uint64 sets held in memory: set d is values[starts[d] : starts[d] + lengths[d]], pair k
 * is sets codes[k] / n and codes[k] % n. set_common(...): the same with the number of values the two
 * sets share (int64) in out. */
static PyObject *set_pairs(PyObject *args, int common) {
    long long n;
    PyObject *objs[5];
    if (!PyArg_ParseTuple(args, "OOOOLO", &objs[0], &objs[1], &objs[2], &objs[3], &n, &objs[4])) return NULL;
    Buf bufs[5];
    static const Py_ssize_t sizes[5] = {8, 8, 8, 8, 8};
    static const int writable[5] = {0, 0, 0, 0, 1};
    const char kinds[5] = {'i', 'i', 'i', 'i', common ? 'i' : 'f'};
    static const char *names[5] = {"values", "starts", "lengths", "codes", "out"};
    if (get_bufs(objs, bufs, 5, sizes, kinds, writable, names) < 0) return NULL;
    const uint64_t *values = bufs[0].view.buf;
    const int64_t *starts = bufs[1].view.buf, *lengths = bufs[2].view.buf, *codes = bufs[3].view.buf;
    Py_ssize_t nv = bufs[0].view.len / 8, docs = bufs[1].view.len / 8, m = bufs[3].view.len / 8;
    const char *bad = NULL;
    if (bufs[2].view.len != bufs[1].view.len || n < 1 || n > docs) bad = "starts and lengths must cover n sets";
    else if (bufs[4].view.len / 8 < m) bad = "out too small";
    for (Py_ssize_t d = 0; !bad && d < n; d++)
        if (starts[d] < 0 || lengths[d] < 0 || starts[d] > nv || lengths[d] > nv - starts[d])
            bad = "a set lies outside values";
    for (Py_ssize_t k = 0; !bad && k < m; k++)
        if (codes[k] < 0 || codes[k] / n >= n) bad = "pair code out of range";
    if (bad) {
        release(bufs, 5);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (common) {
        int64_t *out = bufs[4].view.buf;
        for (Py_ssize_t k = 0; k < m; k++) {
            int64_t i = codes[k] / n, j = codes[k] % n;
            out[k] = sorted_common(values + starts[i], lengths[i], values + starts[j], lengths[j]);
        }
    } else {
        double *out = bufs[4].view.buf;
        for (Py_ssize_t k = 0; k < m; k++) {
            int64_t i = codes[k] / n, j = codes[k] % n;
            out[k] = sorted_jaccard(values + starts[i], lengths[i], values + starts[j], lengths[j]);
        }
    }
    Py_END_ALLOW_THREADS
    release(bufs, 5);
    Py_RETURN_NONE;
}

static PyObject *set_jaccard(PyObject *self, PyObject *args) {
    (void)self;
    return set_pairs(args, 0);
}

static PyObject *set_common(PyObject *self, PyObject *args) {
    (void)self;
    return set_pairs(args, 1);
}

/* char_reach(counts_a, counts_b, ratio, factor) -> (reached_a, total_a, reached_b, total_b): for two
 * texts' sentences given as int32 rows of CHAR_BINS character-class counts (align.char_counts), the
 * total length of each text's sentences and the length of those that some sentence of the other
 * text could match at ``ratio``: 2 * sum(min(counts)) >= ratio * (m + n) * factor (see
 * align.align_copies_reaching, whose NumPy code computes the same). */
#define CHAR_BINS 32
MULTIVERSION
static void char_reach_loop(const int32_t *a, Py_ssize_t na, const int32_t *b, Py_ssize_t nb, const int64_t *la,
                            const int64_t *lb, double ratio, double factor, char *near_a, char *near_b) {
    for (Py_ssize_t i = 0; i < na; i++) {
        const int32_t *ra = a + i * CHAR_BINS;
        for (Py_ssize_t j = 0; j < nb; j++) {
            const int32_t *rb = b + j * CHAR_BINS;
            int64_t shared = 0;
            for (int k = 0; k < CHAR_BINS; k++) shared += ra[k] < rb[k] ? ra[k] : rb[k];
            if (2.0 * (double)shared >= ratio * ((double)la[i] + (double)lb[j]) * factor) near_a[i] = near_b[j] = 1;
        }
    }
}

/* The copy bound of two texts' character counts (char_reach's result into out[4]); -1 with
 * MemoryError set when memory runs out. */
static int char_reach_core(const int32_t *a, Py_ssize_t na, const int32_t *b, Py_ssize_t nb, double ratio,
                           double factor, double *out) {
    int64_t *la = PyMem_Calloc((size_t)(na + nb + 1), sizeof(int64_t)), *lb = la + na;
    char *near_a = PyMem_Calloc((size_t)(na + nb + 1), 1), *near_b = near_a + na;
    if (!la || !near_a) {
        PyMem_Free(la);
        PyMem_Free(near_a);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < na; i++)
        for (int k = 0; k < CHAR_BINS; k++) la[i] += a[i * CHAR_BINS + k];
    for (Py_ssize_t j = 0; j < nb; j++)
        for (int k = 0; k < CHAR_BINS; k++) lb[j] += b[j * CHAR_BINS + k];
    char_reach_loop(a, na, b, nb, la, lb, ratio, factor, near_a, near_b);
    out[0] = out[1] = out[2] = out[3] = 0.0;
    for (Py_ssize_t i = 0; i < na; i++) {
        out[1] += (double)la[i];
        if (near_a[i]) out[0] += (double)la[i];
    }
    for (Py_ssize_t j = 0; j < nb; j++) {
        out[3] += (double)lb[j];
        if (near_b[j]) out[2] += (double)lb[j];
    }
    PyMem_Free(la);
    PyMem_Free(near_a);
    return 0;
}

static PyObject *char_reach(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[2];
    double ratio, factor;
    if (!PyArg_ParseTuple(args, "OOdd", &objs[0], &objs[1], &ratio, &factor)) return NULL;
    Buf bufs[2];
    static const Py_ssize_t sizes[2] = {4, 4};
    static const int writable[2] = {0, 0};
    static const char kinds[2] = {'i', 'i'};
    static const char *names[2] = {"counts_a", "counts_b"};
    if (get_bufs(objs, bufs, 2, sizes, kinds, writable, names) < 0) return NULL;
    Py_ssize_t row = 4 * CHAR_BINS;
    if (bufs[0].view.len % row || bufs[1].view.len % row) {
        release(bufs, 2);
        PyErr_SetString(PyExc_ValueError, "counts must be rows of 32 int32");
        return NULL;
    }
    double out[4];
    int failed = char_reach_core(bufs[0].view.buf, bufs[0].view.len / row, bufs[1].view.buf, bufs[1].view.len / row,
                                 ratio, factor, out);
    release(bufs, 2);
    if (failed) return NULL;
    return Py_BuildValue("dddd", out[0], out[1], out[2], out[3]);
}

/* content_reach(keys_a, order_a, df_a, rows_a, cols_a, n_a, keys_b, order_b, df_b, rows_b, cols_b, n_b,
 *               idf, overlap, factor) -> (reached_a, total_a, reached_b, total_b)
 * The content bound of align.align_content_reaching for two texts' numbered words (keys: the words'
 * hashes sorted, order: their numbers; df: sentences per word; rows/cols: (sentence, word) pairs):
 * words of both texts weigh idf[df_a + df_b], the others idf[df]; a sentence is within reach when
 * the weight of its words found in the other text, times (2 - overlap), is at least overlap times
 * its weight times factor. Returns, per text, the weight of the sentences within reach and in all. */
static int reach_side(const int64_t *rows, const int64_t *cols, Py_ssize_t entries, Py_ssize_t n_sentences,
                      const int64_t *jdf, const char *in_other, Py_ssize_t n_words, const double *idf,
                      Py_ssize_t n_idf, double overlap, double factor, double *out) {
    double *total = PyMem_Calloc((size_t)(2 * n_sentences + 1), sizeof(double)), *shared = total + n_sentences;
    if (!total) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t e = 0; e < entries; e++) {
        int64_t r = rows[e], c = cols[e];
        if (r < 0 || r >= n_sentences || c < 0 || c >= n_words || jdf[c] < 0 || jdf[c] >= n_idf) {
            PyMem_Free(total);
            PyErr_SetString(PyExc_ValueError, "rows, cols or df out of range");
            return -1;
        }
        double w = idf[jdf[c]];
        total[r] += w;
        shared[r] += in_other[c] ? w : 0.0;
    }
    out[0] = out[1] = 0.0;
    for (Py_ssize_t i = 0; i < n_sentences; i++) {
        out[1] += total[i];
        if (shared[i] * (2.0 - overlap) >= overlap * total[i] * factor) out[0] += total[i];
    }
    PyMem_Free(total);
    return 0;
}

/* content_reach's work once its arguments are checked (``va``/``vb`` words, ``ea``/``eb`` entries);
 * the result goes into out[4]. -1 with an exception set on bad numbers or no memory. */
static int content_reach_core(const uint64_t *keys_a, const int64_t *order_a, const int64_t *df_a, const int64_t *rows_a,
                              const int64_t *cols_a, Py_ssize_t va, Py_ssize_t ea, Py_ssize_t n_a,
                              const uint64_t *keys_b, const int64_t *order_b, const int64_t *df_b, const int64_t *rows_b,
                              const int64_t *cols_b, Py_ssize_t vb, Py_ssize_t eb, Py_ssize_t n_b, const double *idf,
                              Py_ssize_t n_idf, double overlap, double factor, double *out) {
    int64_t *jdf_a = PyMem_Malloc((size_t)(va + vb + 1) * sizeof(int64_t)), *jdf_b = jdf_a + va;
    char *in_b = PyMem_Calloc((size_t)(va + vb + 1), 1), *in_a = in_b + va;
    int failed = !jdf_a || !in_b;
    if (failed) PyErr_NoMemory();
    if (!failed) {
        memcpy(jdf_a, df_a, (size_t)va * sizeof(int64_t));
        memcpy(jdf_b, df_b, (size_t)vb * sizeof(int64_t));
        for (Py_ssize_t p = 0, q = 0; p < va && q < vb;) {  /* the words of both: a merge of the sorted keys */
            if (keys_a[p] < keys_b[q]) p++;
            else if (keys_b[q] < keys_a[p]) q++;
            else {
                int64_t wa = order_a[p++], wb = order_b[q++];
                jdf_a[wa] = jdf_b[wb] = df_a[wa] + df_b[wb];
                in_b[wa] = in_a[wb] = 1;
            }
        }
        failed = reach_side(rows_a, cols_a, ea, n_a, jdf_a, in_b, va, idf, n_idf, overlap, factor, out) < 0 ||
                 reach_side(rows_b, cols_b, eb, n_b, jdf_b, in_a, vb, idf, n_idf, overlap, factor, out + 2) < 0;
    }
    PyMem_Free(jdf_a);
    PyMem_Free(in_b);
    return failed ? -1 : 0;
}

static PyObject *content_reach(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[11];
    Py_ssize_t n_a, n_b;
    double overlap, factor;
    if (!PyArg_ParseTuple(args, "OOOOOnOOOOOnOdd", &objs[0], &objs[1], &objs[2], &objs[3], &objs[4], &n_a, &objs[5],
                          &objs[6], &objs[7], &objs[8], &objs[9], &n_b, &objs[10], &overlap, &factor))
        return NULL;
    Buf bufs[11];
    static const Py_ssize_t sizes[11] = {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    static const int writable[11] = {0};
    static const char kinds[11] = {'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'i', 'f'};
    static const char *names[11] = {"keys_a", "order_a", "df_a", "rows_a", "cols_a", "keys_b", "order_b",
                                    "df_b", "rows_b", "cols_b", "idf"};
    if (get_bufs(objs, bufs, 11, sizes, kinds, writable, names) < 0) return NULL;
    const uint64_t *keys_a = bufs[0].view.buf, *keys_b = bufs[5].view.buf;
    const int64_t *order_a = bufs[1].view.buf, *df_a = bufs[2].view.buf, *rows_a = bufs[3].view.buf,
                  *cols_a = bufs[4].view.buf, *order_b = bufs[6].view.buf, *df_b = bufs[7].view.buf,
                  *rows_b = bufs[8].view.buf, *cols_b = bufs[9].view.buf;
    const double *idf = bufs[10].view.buf;
    Py_ssize_t va = bufs[0].view.len / 8, vb = bufs[5].view.len / 8, ea = bufs[3].view.len / 8,
               eb = bufs[8].view.len / 8, n_idf = bufs[10].view.len / 8;
    const char *bad = NULL;
    if (bufs[1].view.len / 8 != va || bufs[2].view.len / 8 != va || bufs[6].view.len / 8 != vb ||
        bufs[7].view.len / 8 != vb)
        bad = "keys, order and df must have one entry per word";
    else if (bufs[4].view.len / 8 != ea || bufs[9].view.len / 8 != eb) bad = "rows and cols must match";
    else if (n_a < 0 || n_b < 0 || n_a > PY_SSIZE_T_MAX / 32 || n_b > PY_SSIZE_T_MAX / 32)
        bad = "sentence count out of range";
    for (Py_ssize_t k = 0; !bad && k < va; k++)
        if (order_a[k] < 0 || order_a[k] >= va) bad = "order out of range";
    for (Py_ssize_t k = 0; !bad && k < vb; k++)
        if (order_b[k] < 0 || order_b[k] >= vb) bad = "order out of range";
    if (bad) {
        release(bufs, 11);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    double out[4];
    int failed = content_reach_core(keys_a, order_a, df_a, rows_a, cols_a, va, ea, n_a, keys_b, order_b, df_b, rows_b,
                                    cols_b, vb, eb, n_b, idf, n_idf, overlap, factor, out);
    release(bufs, 11);
    if (failed) return NULL;
    return Py_BuildValue("dddd", out[0], out[1], out[2], out[3]);
}

/* stored_reach(blob_a, blob_b, ratio, overlap, factor, bound_cells)
 *   -> (n_a, n_b, copy_reached_a, copy_total_a, copy_reached_b, copy_total_b,
 *       content_reached_a, content_total_a, content_reached_b, content_total_b)
 * Both bounds of verification's sentence tests (char_reach at ``ratio``, content_reach at ``overlap``
 * with the idf table of align._idf_table(n_a + n_b)) for two texts' stored sentences, read from
 * the bytes of align.ScoredSentences.to_bytes (layout: align._stored_layout) without making Python
 * objects of them. The copy bound is left at zeros when a text has no sentences or
 * n_a * n_b > bound_cells (align_copies_reaching does not compute it then). */
typedef struct {
    Py_ssize_t n, words, entries;
    int64_t *order, *df, *rows, *cols; /* one allocation, in this order */
    uint64_t *keys;                    /* the words' hashes in the order of ``order`` (sorted) */
    int32_t *counts;
} StoredSentences;

static void stored_free(StoredSentences *s) {
    PyMem_Free(s->order);
    PyMem_Free(s->keys);
    PyMem_Free(s->counts);
}

static inline int64_t stored_number(const unsigned char *p, int width, Py_ssize_t k) {
    if (width == 1) return p[k];
    if (width == 2) {
        uint16_t v;
        memcpy(&v, p + 2 * k, 2);
        return v;
    }
    int64_t v;
    memcpy(&v, p + 8 * k, 8);
    return v;
}

/* Decode and check one blob; -1 with ValueError or MemoryError set. */
static int stored_parse(const unsigned char *buf, Py_ssize_t len, StoredSentences *s) {
    memset(s, 0, sizeof(*s));
    int64_t head[8];
    const char *bad = NULL;
    if (len < 64) bad = "not stored sentences";
    else {
        memcpy(head, buf, sizeof(head));
        if (head[0] != 0x31534E5453LL || (head[4] != 1 && head[4] != 2 && head[4] != 8) ||
            (head[5] != 1 && head[5] != 2 && head[5] != 8) || head[1] < 0 || head[2] < 0 || head[3] < 0 ||
            head[6] < 0 || head[1] > len / 32 || head[2] > len / 8 || head[3] > len || head[6] > len)
            bad = "not stored sentences";
        else if (64 + 8 * head[2] + head[4] * 2 * (head[2] + head[3]) + head[5] * head[1] * CHAR_BINS + head[6] != len)
            bad = "stored sentences of the wrong size";
    }
    if (bad) {
        PyErr_SetString(PyExc_ValueError, bad);
        return -1;
    }
    Py_ssize_t n = s->n = head[1], words = s->words = head[2], entries = s->entries = head[3];
    int nw = (int)head[4], cw = (int)head[5];
    const unsigned char *vocab = buf + 64, *numbers = vocab + 8 * words, *counts = numbers + nw * 2 * (words + entries);
    s->order = PyMem_Malloc((size_t)(2 * (words + entries) + 1) * sizeof(int64_t));
    s->keys = PyMem_Malloc((size_t)(words + 1) * sizeof(uint64_t));
    s->counts = PyMem_Malloc((size_t)(n * CHAR_BINS + 1) * sizeof(int32_t));
    if (!s->order || !s->keys || !s->counts) {
        stored_free(s);
        PyErr_NoMemory();
        return -1;
    }
    s->df = s->order + words;
    s->rows = s->df + words;
    s->cols = s->rows + entries;
    for (Py_ssize_t k = 0; k < 2 * (words + entries); k++) s->order[k] = stored_number(numbers, nw, k);
    /* Every number checked here, once: the bounds' loops may then trust them. */
    for (Py_ssize_t k = 0; !bad && k < words; k++) {
        int64_t o = s->order[k];
        if (o < 0 || o >= words) bad = "order out of range";
        else if (s->df[k] < 0 || s->df[k] > n) bad = "sentence count of a word out of range";
        else memcpy(&s->keys[k], vocab + 8 * o, 8);
    }
    for (Py_ssize_t e = 0; !bad && e < entries; e++)
        if (s->rows[e] < 0 || s->rows[e] >= n || s->cols[e] < 0 || s->cols[e] >= words) bad = "entry out of range";
    for (Py_ssize_t k = 0; !bad && k < n * CHAR_BINS; k++) {
        int64_t c = stored_number(counts, cw, k);
        if (c < 0 || c > INT32_MAX) bad = "character count out of range";
        s->counts[k] = (int32_t)c;
    }
    if (bad) {
        stored_free(s);
        PyErr_SetString(PyExc_ValueError, bad);
        return -1;
    }
    return 0;
}

/* Both bounds of two parsed texts into out[0..8) (stored_reach); idf: room for a.n + b.n + 1 values.
 * -1 with an exception set. */
static int stored_reach_core(const StoredSentences *a, const StoredSentences *b, double ratio, double overlap,
                             double factor, Py_ssize_t bound_cells, double *idf, double *out) {
    Py_ssize_t n_idf = a->n + b->n + 1;
    for (int k = 0; k < 8; k++) out[k] = 0.0;
    /* align._idf_table: math.log1p(n / df), which is the C library's log1p for n / df >= 1 */
    idf[0] = 0.0;
    for (Py_ssize_t df = 1; df < n_idf; df++) idf[df] = log1p((double)(n_idf - 1) / (double)df);
    if (a->n && b->n && a->n <= bound_cells / b->n && char_reach_core(a->counts, a->n, b->counts, b->n, ratio, factor, out) < 0)
        return -1;
    return content_reach_core(a->keys, a->order, a->df, a->rows, a->cols, a->words, a->entries, a->n, b->keys, b->order,
                              b->df, b->rows, b->cols, b->words, b->entries, b->n, idf, n_idf, overlap, factor, out + 4);
}

static PyObject *stored_reach(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer va, vb;
    double ratio, overlap, factor;
    Py_ssize_t bound_cells;
    if (!PyArg_ParseTuple(args, "y*y*dddn", &va, &vb, &ratio, &overlap, &factor, &bound_cells)) return NULL;
    StoredSentences a, b;
    int failed = stored_parse(va.buf, va.len, &a) < 0;
    if (!failed && stored_parse(vb.buf, vb.len, &b) < 0) {
        stored_free(&a);
        failed = 1;
    }
    PyBuffer_Release(&va);
    PyBuffer_Release(&vb);
    if (failed) return NULL;
    double out[8];
    double *idf = PyMem_Malloc((size_t)(a.n + b.n + 1) * sizeof(double));
    failed = !idf;
    if (failed) PyErr_NoMemory();
    else failed = stored_reach_core(&a, &b, ratio, overlap, factor, bound_cells, idf, out) < 0;
    PyMem_Free(idf);
    stored_free(&a);
    stored_free(&b);
    if (failed) return NULL;
    return Py_BuildValue("nndddddddd", a.n, b.n, out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7]);
}

/* stored_reach_many(blobs, pa, pb, ratio, overlap, factor, bound_cells, out)
 * stored_reach of many pairs: pair k is blobs[pa[k]] and blobs[pb[k]] (a list of bytes; each parsed
 * once), its row of ``out`` (float64, 10 values a pair) (n_a, n_b, the 4 copy bound values, the 4
 * content bound values). */
static PyObject *stored_reach_many(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *blobs, *objs[3];
    double ratio, overlap, factor;
    Py_ssize_t bound_cells;
    if (!PyArg_ParseTuple(args, "O!OOdddnO", &PyList_Type, &blobs, &objs[0], &objs[1], &ratio, &overlap, &factor,
                          &bound_cells, &objs[2]))
        return NULL;
    Buf bufs[3];
    static const Py_ssize_t sizes[3] = {8, 8, 8};
    static const char kinds[3] = {'i', 'i', 'f'};
    static const int writable[3] = {0, 0, 1};
    static const char *names[3] = {"pa", "pb", "out"};
    if (get_bufs(objs, bufs, 3, sizes, kinds, writable, names) < 0) return NULL;
    const int64_t *pa = bufs[0].view.buf, *pb = bufs[1].view.buf;
    double *out = bufs[2].view.buf;
    Py_ssize_t m = bufs[0].view.len / 8, nb = PyList_GET_SIZE(blobs);
    const char *bad = NULL;
    if (bufs[1].view.len != bufs[0].view.len) bad = "pa and pb differ in length";
    else if (bufs[2].view.len / 8 < 10 * m) bad = "out too small";
    for (Py_ssize_t k = 0; !bad && k < m; k++)
        if (pa[k] < 0 || pa[k] >= nb || pb[k] < 0 || pb[k] >= nb) bad = "blob index out of range";
    for (Py_ssize_t k = 0; !bad && k < nb; k++)
        if (!PyBytes_Check(PyList_GET_ITEM(blobs, k))) bad = "blobs must be bytes";
    if (bad) {
        release(bufs, 3);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    StoredSentences *parsed = PyMem_Calloc((size_t)(nb ? nb : 1), sizeof(StoredSentences));
    Py_ssize_t done = 0, longest = 0;
    int failed = !parsed;
    if (failed) PyErr_NoMemory();
    for (; !failed && done < nb; done++) {
        PyObject *blob = PyList_GET_ITEM(blobs, done);
        failed = stored_parse((const unsigned char *)PyBytes_AS_STRING(blob), PyBytes_GET_SIZE(blob), &parsed[done]) < 0;
        if (!failed && parsed[done].n > longest) longest = parsed[done].n;
    }
    if (failed && done > 0) done--; /* the one that failed freed its own */
    double *idf = failed ? NULL : PyMem_Malloc((size_t)(2 * longest + 1) * sizeof(double));
    if (!failed && !idf) {
        failed = 1;
        PyErr_NoMemory();
    }
    for (Py_ssize_t k = 0; !failed && k < m; k++) {
        const StoredSentences *a = &parsed[pa[k]], *b = &parsed[pb[k]];
        double *row = out + 10 * k;
        row[0] = (double)a->n;
        row[1] = (double)b->n;
        failed = stored_reach_core(a, b, ratio, overlap, factor, bound_cells, idf, row + 2) < 0;
    }
    PyMem_Free(idf);
    for (Py_ssize_t k = 0; parsed && k < done; k++) stored_free(&parsed[k]);
    PyMem_Free(parsed);
    release(bufs, 3);
    if (failed) return NULL;
    Py_RETURN_NONE;
}

/* stored_sentences(content_table, ids, rows, counts, text) -> bytes: align.ScoredSentences.to_bytes of
 * the sentences whose tokens' vocabulary ids and sentences are ``ids`` and ``rows`` (int64; rows
 * non-decreasing), whose character counts are ``counts`` (int32 rows of CHAR_BINS, one per sentence:
 * align.char_counts) and whose normalized text, one sentence per line, is ``text`` (UTF-8). A token's
 * content word is content_table[id] (0: none). The words are numbered as sentence_words numbers
 * them; the layout is align._stored_layout's, widths chosen by the same bounds as to_bytes.
 * ``flags`` (optional, 0) goes to the header's last word (align._TEXT_LEFT_OUT: ``text`` is empty and
 * the sentences' text left out). */
typedef struct {
    uint64_t key;
    int64_t at;
} KeyAt;

static int key_at_cmp(const void *a, const void *b) {
    uint64_t x = ((const KeyAt *)a)->key, y = ((const KeyAt *)b)->key;
    return x < y ? -1 : x > y;
}

/* Sorts words by their hashes as hash_sort_u64 sorts hashes (two radix passes on the top bytes, then
 * an insertion sort with a budget; qsort past it); tmp holds n entries. */
static void sort_key_at(KeyAt *a, KeyAt *tmp, Py_ssize_t n) {
    if (n > 32) {
        Py_ssize_t hist[2][256];
        memset(hist, 0, sizeof(hist));
        for (Py_ssize_t i = 0; i < n; i++) {
            hist[0][(a[i].key >> 48) & 0xFF]++;
            hist[1][a[i].key >> 56]++;
        }
        KeyAt *src = a, *dst = tmp;
        for (int d = 0; d < 2; d++) {
            Py_ssize_t *h = hist[d];
            int shift = 48 + 8 * d;
            if (h[(src[0].key >> shift) & 0xFF] == n) continue;
            Py_ssize_t sum = 0;
            for (int c = 0; c < 256; c++) {
                Py_ssize_t t = h[c];
                h[c] = sum;
                sum += t;
            }
            for (Py_ssize_t i = 0; i < n; i++) dst[h[(src[i].key >> shift) & 0xFF]++] = src[i];
            KeyAt *t = src;
            src = dst;
            dst = t;
        }
        if (src != a) memcpy(a, src, (size_t)n * sizeof(KeyAt));
    }
    Py_ssize_t budget = 8 * n + 64;
    for (Py_ssize_t i = 1; i < n; i++) {
        KeyAt v = a[i];
        Py_ssize_t j = i - 1;
        while (j >= 0 && a[j].key > v.key) {
            a[j + 1] = a[j];
            j--;
            if (--budget < 0) {
                a[j + 1] = v;
                qsort(a, (size_t)n, sizeof(KeyAt), key_at_cmp);
                return;
            }
        }
        a[j + 1] = v;
    }
}

/* band_sort(signatures, num_perm, members, band, rows, out_keys, out_docs): the band keys of the
 * documents ``members`` (candidates.band_keys of values [band * rows, (band + 1) * rows) of their
 * signature rows) sorted, into out_keys, and the document of each, into out_docs (documents with
 * equal keys in no set order). One pass over the signatures and a sort by the keys' top bits: the
 * keys are hashes, spread evenly (candidates.band_buckets, which sorted them with NumPy). */
static PyObject *band_sort(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[4];
    Py_ssize_t perm, band, rows;
    if (!PyArg_ParseTuple(args, "OnOnnOO", &objs[0], &perm, &objs[1], &band, &rows, &objs[2], &objs[3])) return NULL;
    Buf bufs[4];
    static const Py_ssize_t sizes_[4] = {4, 8, 8, 8};
    static const int writable[4] = {0, 0, 1, 1};
    static const char kinds[4] = {'i', 'i', 'i', 'i'};
    static const char *names[4] = {"signatures", "members", "out_keys", "out_docs"};
    if (get_bufs(objs, bufs, 4, sizes_, kinds, writable, names) < 0) return NULL;
    const uint32_t *sigs = bufs[0].view.buf;
    const int64_t *members = bufs[1].view.buf;
    Py_ssize_t m = bufs[1].view.len / 8, n = perm > 0 ? bufs[0].view.len / 4 / perm : 0;
    const char *bad = NULL;
    if (perm < 1 || n * perm * 4 != bufs[0].view.len) bad = "signatures are not rows of num_perm";
    else if (rows < 1 || rows > 64 || band < 0 || band >= perm / rows) bad = "the band lies outside the signatures";
    else if (bufs[2].view.len != m * 8 || bufs[3].view.len != m * 8) bad = "out_keys and out_docs: one value per member";
    for (Py_ssize_t k = 0; !bad && k < m; k++)
        if (members[k] < 0 || members[k] >= n) bad = "member out of range";
    if (bad) {
        release(bufs, 4);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    KeyAt *a = PyMem_RawMalloc((size_t)(2 * m + 1) * sizeof(KeyAt));
    if (!a) {
        release(bufs, 4);
        return PyErr_NoMemory();
    }
    uint64_t *keys = bufs[2].view.buf;
    int64_t *docs = bufs[3].view.buf;
    Py_BEGIN_ALLOW_THREADS
    uint64_t mults[64];
    for (Py_ssize_t k = 0; k < rows; k++) mults[k] = MULTS_BASE * (uint64_t)(2 * k + 1);
    for (Py_ssize_t i = 0; i < m; i++) {
        if (i + 8 < m) __builtin_prefetch(sigs + members[i + 8] * perm + band * rows);
        const uint32_t *row = sigs + members[i] * perm + band * rows;
        uint64_t acc = 0;
        for (Py_ssize_t k = 0; k < rows; k++) acc += ((uint64_t)row[k] + 1) * mults[k];
        acc ^= acc >> 31;
        acc *= 0xBF58476D1CE4E5B9ULL;
        acc ^= acc >> 29;
        a[i].key = acc;
        a[i].at = members[i];
    }
    sort_key_at(a, a + m, m);
    for (Py_ssize_t i = 0; i < m; i++) {
        keys[i] = a[i].key;
        docs[i] = a[i].at;
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(a);
    release(bufs, 4);
    Py_RETURN_NONE;
}

static inline void put_number(unsigned char *p, int width, Py_ssize_t k, int64_t v) {
    if (width == 1) p[k] = (unsigned char)v;
    else if (width == 2) {
        uint16_t u = (uint16_t)v;
        memcpy(p + 2 * k, &u, 2);
    } else memcpy(p + 8 * k, &v, 8);
}

static inline int number_width(int64_t top) { return top < 256 ? 1 : top < 65536 ? 2 : 8; }

static PyObject *stored_sentences(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[4];
    Py_buffer text;
    long long flags = 0;
    if (!PyArg_ParseTuple(args, "OOOOy*|L", &objs[0], &objs[1], &objs[2], &objs[3], &text, &flags)) return NULL;
    Buf bufs[4];
    static const Py_ssize_t sizes[4] = {8, 8, 8, 4};
    static const int writable[4] = {0, 0, 0, 0};
    static const char kinds[4] = {'i', 'i', 'i', 'i'};
    static const char *names[4] = {"content_table", "ids", "rows", "counts"};
    if (get_bufs(objs, bufs, 4, sizes, kinds, writable, names) < 0) {
        PyBuffer_Release(&text);
        return NULL;
    }
    const uint64_t *table = bufs[0].view.buf;
    const int64_t *ids = bufs[1].view.buf, *rows = bufs[2].view.buf;
    const int32_t *counts = bufs[3].view.buf;
    Py_ssize_t n_table = bufs[0].view.len / 8, m = bufs[1].view.len / 8, n = bufs[3].view.len / (4 * CHAR_BINS);
    const char *bad = NULL;
    if (bufs[2].view.len / 8 != m) bad = "ids and rows differ in length";
    else if (bufs[3].view.len % (4 * CHAR_BINS)) bad = "counts must be rows of 32 int32";
    for (Py_ssize_t k = 0; !bad && k < m; k++) {
        if (ids[k] < 0 || ids[k] >= n_table) bad = "token id out of range";
        else if (rows[k] < 0 || rows[k] >= n || (k && rows[k] < rows[k - 1])) bad = "rows out of order or range";
    }
    for (Py_ssize_t k = 0; !bad && k < n * CHAR_BINS; k++)
        if (counts[k] < 0) bad = "negative character count";
    PyObject *out = NULL;
    /* scratch: hashes and rows of the content tokens, then vocab, df, rows, cols, the sorted words */
    uint64_t *hashes = NULL, *vocab = NULL;
    int64_t *hrows = NULL, *df = NULL, *erows = NULL, *ecols = NULL;
    KeyAt *sorted = NULL;
    if (!bad) {
        hashes = PyMem_Malloc((size_t)(m + 1) * sizeof(uint64_t));
        vocab = PyMem_Malloc((size_t)(m + 1) * sizeof(uint64_t));
        hrows = PyMem_Malloc((size_t)(4 * m + 1) * sizeof(int64_t));
        sorted = PyMem_Malloc((size_t)(2 * m + 1) * sizeof(KeyAt)); /* and the sort's scratch */
        if (!hashes || !vocab || !hrows || !sorted) goto nomem;
        df = hrows + m;
        erows = df + m;
        ecols = erows + m;
        Py_ssize_t kept = 0;
        for (Py_ssize_t k = 0; k < m; k++) {
            uint64_t h = table[ids[k]];
            if (h != 0) {
                hashes[kept] = h;
                hrows[kept++] = rows[k];
            }
        }
        Py_ssize_t words, entries;
        if (sentence_words_core(hashes, hrows, kept, vocab, df, erows, ecols, &words, &entries) < 0) goto nomem;
        for (Py_ssize_t w = 0; w < words; w++) {
            sorted[w].key = vocab[w];
            sorted[w].at = w;
        }
        sort_key_at(sorted, sorted + words, words);
        int64_t longest = 0; /* the longest sentence, in characters */
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t len = 0;
            for (int c = 0; c < CHAR_BINS; c++) len += counts[i * CHAR_BINS + c];
            if (len > longest) longest = len;
        }
        int nw = number_width(n > words ? n : words), cw = number_width(longest);
        Py_ssize_t size = 64 + 8 * words + nw * 2 * (words + entries) + cw * n * CHAR_BINS + text.len;
        out = PyBytes_FromStringAndSize(NULL, size);
        if (out) {
            unsigned char *p = (unsigned char *)PyBytes_AS_STRING(out);
            int64_t head[8] = {0x31534E5453LL, n, words, entries, nw, cw, text.len, (int64_t)flags};
            memcpy(p, head, sizeof(head));
            p += 64;
            memcpy(p, vocab, (size_t)words * 8);
            p += 8 * words;
            Py_ssize_t k = 0;
            for (Py_ssize_t w = 0; w < words; w++) put_number(p, nw, k++, sorted[w].at);
            for (Py_ssize_t w = 0; w < words; w++) put_number(p, nw, k++, df[w]);
            for (Py_ssize_t e = 0; e < entries; e++) put_number(p, nw, k++, erows[e]);
            for (Py_ssize_t e = 0; e < entries; e++) put_number(p, nw, k++, ecols[e]);
            p += nw * k;
            for (Py_ssize_t c = 0; c < n * CHAR_BINS; c++) put_number(p, cw, c, counts[c]);
            p += cw * n * CHAR_BINS;
            memcpy(p, text.buf, (size_t)text.len);
        }
    }
    goto done;
nomem:
    PyErr_NoMemory();
done:
    PyMem_Free(hashes);
    PyMem_Free(vocab);
    PyMem_Free(hrows);
    PyMem_Free(sorted);
    release(bufs, 4);
    PyBuffer_Release(&text);
    if (bad) {
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    return out;
}

/* sentence_tokens(vocab, text, abbreviations, tail, abbreviation_end, ascii_fold, fold, bins)
 *     -> None or (joined, ids, rows, counts, new_tokens)
 * What align._sentence_tokens and char_counts make of a text, without the strings between them:
 * the sentences of split_sentences (same arguments), each folded as normalize.fold_text folds it
 * and its whitespace collapsed (" ".join(s.split())), joined by line feeds, as UTF-8 (surrogates
 * passed); the vocabulary ids of their tokens (runs of word characters, as vocab_lookup in words
 * mode finds them in that text) and the sentence of each (int64 bytes); the character classes of
 * each sentence (int32 bytes, rows of CHAR_BINS: align.char_counts with ``bins``, uint8[128]); and
 * the tokens the vocabulary did not hold before (in id order).
 * Characters are folded one by one: ``ascii_fold`` (bytes of 128) holds the fold of each ASCII
 * character, ``fold`` (a dict: code point -> str) that of the non-ASCII characters that fold alone,
 * whatever surrounds them (normalize.fold_map). A text with any other character returns None,
 * before anything is looked up. */
typedef struct {
    int kind;
    const void *d;
    const unsigned char *ascii_fold, *bins;
    PyObject *fold;
    Vocab *v;
    PyObject *fresh;
    void *out, *ids, *rows, *counts; /* char, int64, int64, int32[CHAR_BINS] per sentence (grow_raw) */
    Py_ssize_t out_len, out_cap, count, ids_cap, rows_cap, n, n_cap;
    /* the sentence being written: where it starts in out, the token open in it (or -1), whether
     * whitespace waits to become one space */
    Py_ssize_t sentence_at, token_at;
    int space;
    Ahead ahead; /* tokens whose ids are not written yet */
} SentenceTokens;

static inline int st_reserve(SentenceTokens *st, Py_ssize_t more) {
    return grow_raw(&st->out, &st->out_cap, st->out_len + more, 1, 4096);
}

static int st_close_token(SentenceTokens *st) {
    if (st->token_at < 0) return 0;
    if (grow_raw(&st->ids, &st->ids_cap, st->count + 1, sizeof(int64_t), 512) < 0 ||
        grow_raw(&st->rows, &st->rows_cap, st->count + 1, sizeof(int64_t), 512) < 0)
        return -1;
    /* its id comes later (Ahead); sentence_tokens resolves the last ones */
    ahead_push(st->v, &st->ahead, st->out, st->token_at, st->out_len - st->token_at, st->count);
    if (st->ahead.count == AHEAD && ahead_resolve(st->v, &st->ahead, st->out, st->ids, st->fresh, AHEAD - 1) < 0)
        return -1;
    ((int64_t *)st->rows)[st->count++] = st->n;
    st->token_at = -1;
    return 0;
}

/* Where the sentence being written stands (SentenceTokens' out_len, token_at and space), held in a
 * local of the writer while it writes characters, so that the compiler keeps it in registers; it goes
 * back into the SentenceTokens where a token closes (st_close_token reads it there) and at the end
 * (st_sync). ``out`` has room reserved for what is written; closing a token grows other buffers only. */
typedef struct {
    char *out;
    int32_t *row; /* the sentence's character classes */
    const unsigned char *bins;
    Py_ssize_t len, token_at;
    int space;
} StCursor;

static inline __attribute__((always_inline)) StCursor st_cursor(const SentenceTokens *st) {
    StCursor cur = {st->out, (int32_t *)st->counts + st->n * CHAR_BINS, st->bins, st->out_len, st->token_at, st->space};
    return cur;
}

static inline __attribute__((always_inline)) void st_sync(SentenceTokens *st, const StCursor *cur) {
    st->out_len = cur->len;
    st->token_at = cur->token_at;
    st->space = cur->space;
}

/* The end of the open token, if one is. */
static inline __attribute__((always_inline)) int st_end_token(SentenceTokens *st, StCursor *cur) {
    if (cur->token_at < 0) return 0;
    st->out_len = cur->len;
    st->token_at = cur->token_at;
    if (st_close_token(st) < 0) return -1;
    cur->token_at = -1;
    return 0;
}

/* Whitespace in the folded sentence: it ends a token, and becomes one space before the next
 * character (none at the sentence's start). */
static inline __attribute__((always_inline)) int st_space(SentenceTokens *st, StCursor *cur) {
    if (st_end_token(st, cur) < 0) return -1;
    cur->space = cur->len > st->sentence_at;
    return 0;
}

/* Before a character that is no whitespace (``word``: a word character) is written: the waiting
 * space, and the token it opens or closes. */
static inline __attribute__((always_inline)) int st_before(SentenceTokens *st, StCursor *cur, int word) {
    if (cur->space) {
        cur->out[cur->len++] = ' ';
        cur->row[cur->bins[' ']]++;
        cur->space = 0;
    }
    if (!word) return st_end_token(st, cur);
    if (cur->token_at < 0) cur->token_at = cur->len;
    return 0;
}

/* Write one folded ASCII character (room for two bytes reserved). */
static inline __attribute__((always_inline)) int st_put_ascii(SentenceTokens *st, StCursor *cur, unsigned char c) {
    if (ascii_space(c)) return st_space(st, cur);
    if (st_before(st, cur, ascii_word_char(c)) < 0) return -1;
    cur->out[cur->len++] = (char)c;
    cur->row[cur->bins[c]]++;
    return 0;
}

/* Write one character of the folded sentence (UTF-8, surrogates passed; room for four bytes reserved). */
static inline __attribute__((always_inline)) int st_put_char(SentenceTokens *st, StCursor *cur, Py_UCS4 c) {
    if (c < 128) return st_put_ascii(st, cur, (unsigned char)c);
    if (Py_UNICODE_ISSPACE(c)) return st_space(st, cur);
    if (st_before(st, cur, (int)Py_UNICODE_ISALNUM(c)) < 0) return -1;
    char *o = cur->out + cur->len;
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        cur->len += 2;
    } else if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        cur->len += 3;
    } else {
        o[0] = (char)(0xF0 | (c >> 18));
        o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[3] = (char)(0x80 | (c & 0x3F));
        cur->len += 4;
    }
    cur->row[28 + (c & 3)]++;
    return 0;
}

/* The fold of a non-ASCII character (a str), or NULL: with an exception set when the map is bad. */
static PyObject *st_fold_of(PyObject *fold, Py_UCS4 c) {
    PyObject *key = PyLong_FromUnsignedLong(c);
    if (!key) return NULL;
    PyObject *value = PyDict_GetItemWithError(fold, key);
    Py_DECREF(key);
    if (value && !PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "fold must map code points to str");
        return NULL;
    }
    return value;
}

/* Fold the characters [a, b) of the text into the sentence being written (one copy per string kind). */
static inline __attribute__((always_inline)) int st_fold_span(SentenceTokens *st, int kind, Py_ssize_t a,
                                                              Py_ssize_t b) {
    for (Py_ssize_t i = a; i < b; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, st->d, i);
        if (c < 128) {
            /* a run of ASCII characters, room for it reserved once (ASCII folds to ASCII: one byte
             * each, and a space before some) */
            if (st_reserve(st, 2 * (b - i)) < 0) return -1;
            const unsigned char *fold = st->ascii_fold;
            StCursor cur = st_cursor(st);
            for (; i < b && (c = PyUnicode_READ(kind, st->d, i)) < 128; i++)
                if (st_put_ascii(st, &cur, fold[c]) < 0) return -1;
            st_sync(st, &cur);
            i--; /* the loop's i++ comes next */
            continue;
        }
        PyObject *folded = st_fold_of(st->fold, c);
        if (!folded) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a character without a fold");
            return -1;
        }
        int fk = PyUnicode_KIND(folded);
        const void *fd = PyUnicode_DATA(folded);
        for (Py_ssize_t j = 0; j < PyUnicode_GET_LENGTH(folded); j++) {
            if (st_reserve(st, 5) < 0) return -1;
            StCursor cur = st_cursor(st);
            if (st_put_char(st, &cur, PyUnicode_READ(fk, fd, j)) < 0) return -1;
            st_sync(st, &cur);
        }
    }
    return 0;
}

static int st_sentence(void *ctx, Py_ssize_t a, Py_ssize_t b) {
    SentenceTokens *st = ctx;
    if (grow_raw(&st->counts, &st->n_cap, st->n + 1, CHAR_BINS * sizeof(int32_t), 64) < 0) return -1;
    memset((int32_t *)st->counts + st->n * CHAR_BINS, 0, CHAR_BINS * sizeof(int32_t));
    if (st->n) {
        if (st_reserve(st, 1) < 0) return -1;
        ((char *)st->out)[st->out_len++] = '\n';
    }
    st->sentence_at = st->out_len;
    st->token_at = -1;
    st->space = 0;
    int rc = st->kind == PyUnicode_1BYTE_KIND   ? st_fold_span(st, PyUnicode_1BYTE_KIND, a, b)
             : st->kind == PyUnicode_2BYTE_KIND ? st_fold_span(st, PyUnicode_2BYTE_KIND, a, b)
                                                : st_fold_span(st, PyUnicode_4BYTE_KIND, a, b);
    if (rc < 0 || st_close_token(st) < 0) return -1;
    st->n++;
    return 0;
}

static PyObject *sentence_tokens(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *capsule, *text, *abbrevs, *fallback, *fold;
    Py_ssize_t tail;
    Py_buffer ascii_fold, bins;
    if (!PyArg_ParseTuple(args, "OUO!nOy*O!y*", &capsule, &text, &PyTuple_Type, &abbrevs, &tail, &fallback,
                          &ascii_fold, &PyDict_Type, &fold, &bins))
        return NULL;
    PyObject *result = NULL;
    SentenceTokens st;
    memset(&st, 0, sizeof(st));
    st.v = PyCapsule_GetPointer(capsule, VOCAB_CAPSULE);
    if (!st.v || check_abbreviations(abbrevs, tail) < 0) goto done;
    int bad = ascii_fold.len != 128 || bins.len != 128;
    for (int c = 0; !bad && c < 128; c++)
        bad = ((const unsigned char *)ascii_fold.buf)[c] >= 128 || ((const unsigned char *)bins.buf)[c] >= CHAR_BINS;
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "ascii_fold and bins: 128 bytes each, of ASCII characters and classes");
        goto done;
    }
    st.kind = PyUnicode_KIND(text);
    st.d = PyUnicode_DATA(text);
    st.ascii_fold = ascii_fold.buf;
    st.bins = bins.buf;
    st.fold = fold;
    if (!PyUnicode_IS_ASCII(text)) {
        Py_ssize_t len = PyUnicode_GET_LENGTH(text);
        for (Py_ssize_t i = 0; i < len; i++) {
            Py_UCS4 c = PyUnicode_READ(st.kind, st.d, i);
            if (c < 128) continue;
            PyObject *folded = st_fold_of(fold, c);
            if (!folded) {
                if (!PyErr_Occurred()) {
                    Py_INCREF(Py_None);
                    result = Py_None;
                }
                goto done;
            }
        }
    }
    st.fresh = PyList_New(0);
    /* (sentence_spans may call the Python fallback while tokens still wait for their ids: it must not
     * use this vocabulary) */
    if (!st.fresh || sentence_spans(text, abbrevs, tail, fallback, st_sentence, &st) < 0 ||
        ahead_resolve(st.v, &st.ahead, st.out, st.ids, st.fresh, 0) < 0)
        goto done;
    /* (y# makes None of a NULL buffer: "" stands for the empty ones) */
    result = Py_BuildValue("y#y#y#y#O", st.out ? (const char *)st.out : "", st.out_len,
                           st.ids ? (const char *)st.ids : "", st.count * (Py_ssize_t)sizeof(int64_t),
                           st.rows ? (const char *)st.rows : "", st.count * (Py_ssize_t)sizeof(int64_t),
                           st.counts ? (const char *)st.counts : "", st.n * CHAR_BINS * (Py_ssize_t)sizeof(int32_t),
                           st.fresh);
done:
    Py_XDECREF(st.fresh);
    PyMem_RawFree(st.out);
    PyMem_RawFree(st.ids);
    PyMem_RawFree(st.rows);
    PyMem_RawFree(st.counts);
    PyBuffer_Release(&ascii_fold);
    PyBuffer_Release(&bins);
    return result;
}

static PyMethodDef methods[] = {
    {"features", features, METH_VARARGS,
     "features(units, unit_offsets, k, content, content_offsets, common, a, b,\n"
     "         out_shingles, out_content, counts, shingle_sigs, content_sigs[, hashes, content_table])\n"
     "Shingles, rare content words and their MinHash values for a chunk of documents (see bulk.py)."},
    {"agreement", agreement, METH_VARARGS,
     "agreement(signatures, num_perm, codes, n, out): MinHash estimates (float32) of pairs i * n + j."},
    {"read_sets", read_sets, METH_VARARGS,
     "read_sets(fd, offsets, lengths, out): sorted sets stored in a file, read one after the other into out."},
    {"set_jaccard", set_jaccard, METH_VARARGS,
     "set_jaccard(values, starts, lengths, codes, n, out): exact Jaccard (float64) of sorted sets in memory."},
    {"sentence_words", sentence_words, METH_VARARGS,
     "sentence_words(hashes, rows, vocab, df, out_rows, out_cols) -> (words, entries): content words of sentences."},
    {"band_screen", band_screen, METH_VARARGS,
     "band_screen(signatures, num_perm, docs, starts, sizes, max_bucket, n, min_agree, out_codes, out_scores)"
     " -> (pairs, kept): one LSH band's pairs, screened by signature agreement."},
    {"topk_new", topk_new, METH_VARARGS, "topk_new(n, k) -> each document's best k partners, none yet (a capsule)."},
    {"topk_add", topk_add, METH_VARARGS, "topk_add(topk, codes, scores) -> None: offer pairs (see the source)."},
    {"topk_result", topk_result, METH_O, "topk_result(topk) -> (codes, scores): the pairs kept, as bytes (see the source)."},
    {"set_common", set_common, METH_VARARGS,
     "set_common(values, starts, lengths, codes, n, out): values shared (int64) by pairs of sorted sets in memory."},
    {"vocab_new", vocab_new, METH_NOARGS, "vocab_new() -> an empty vocabulary (a capsule)."},
    {"vocab_lookup", vocab_lookup, METH_VARARGS,
     "vocab_lookup(vocab, data, out_ids, words[, out_lines]) -> (count, joined, new_tokens): ids of a text's tokens\n"
     "(and in out_lines, for each token, the number of line feeds before it)."},
    {"vocab_size", vocab_size, METH_O, "vocab_size(vocab) -> number of tokens."},
    {"token_hashes", token_hashes, METH_VARARGS,
     "token_hashes(stopwords, data, out_hashes, out_content) -> positions left to Python: the hashes of\n"
     "Vocabulary._add for space-separated tokens (see the source)."},
    {"content_reach", content_reach, METH_VARARGS,
     "content_reach(keys_a, order_a, df_a, rows_a, cols_a, n_a, keys_b, ..., n_b, idf, overlap, factor)\n"
     "-> (reached_a, total_a, reached_b, total_b): the content bound of align_content_reaching."},
    {"stored_sentences", stored_sentences, METH_VARARGS,
     "stored_sentences(content_table, ids, rows, counts, text[, flags]) -> bytes: ScoredSentences.to_bytes from the\n"
     "sentences' token ids (see the source)."},
    {"stored_reach_many", stored_reach_many, METH_VARARGS,
     "stored_reach_many(blobs, pa, pb, ratio, overlap, factor, bound_cells, out) -> None: stored_reach of\n"
     "blobs[pa[k]] and blobs[pb[k]] into out[10 k : 10 k + 10] (n_a, n_b, then the 8 values)."},
    {"stored_reach", stored_reach, METH_VARARGS,
     "stored_reach(blob_a, blob_b, ratio, overlap, factor, bound_cells) -> (n_a, n_b, 4 copy bound values,\n"
     "4 content bound values): both sentence bounds of two texts' stored sentences (see the source)."},
    {"quick_hash64", quick_hash64, METH_VARARGS,
     "quick_hash64(data) -> a 64-bit hash of bytes (see similarity.shingle.quick_hash64)."},
    {"gather_set", gather_set, METH_VARARGS,
     "gather_set(table, ids, out) -> m: the distinct nonzero table[ids], sorted, in out[:m]."},
    {"common_count", common_count, METH_VARARGS,
     "common_count(a, b) -> the number of values two sorted unique uint64 sets share."},
    {"char_reach", char_reach, METH_VARARGS,
     "char_reach(counts_a, counts_b, ratio, factor) -> (reached_a, total_a, reached_b, total_b): the copy bound."},
    {"char_counts", char_counts, METH_VARARGS,
     "char_counts(sentences, bins, out) -> None: per sentence, characters in each of 32 classes (see the source)."},
    {"collapse_whitespace", collapse_whitespace, METH_O,
     "collapse_whitespace(strings) -> list: ' '.join(s.split()) of each string."},
    {"sentence_tokens", sentence_tokens, METH_VARARGS,
     "sentence_tokens(vocab, text, abbreviations, tail, abbreviation_end, ascii_fold, fold, bins)\n"
     "-> None or (joined, ids, rows, counts, new_tokens): a text's folded sentences and their tokens (see the source)."},
    {"band_sort", band_sort, METH_VARARGS,
     "band_sort(signatures, num_perm, members, band, rows, out_keys, out_docs): one band's keys sorted, with their\n"
     "documents (see the source)."},
    {"split_sentences", split_sentences, METH_VARARGS,
     "split_sentences(text, abbreviations, tail, abbreviation_end) -> the sentences of text (see the source)."},
    {"normalize_ascii_line", normalize_ascii_line, METH_O,
     "normalize_ascii_line(text) -> the cleaner's normalized line, or None for a non-ASCII text."},
    {"line_stats", (PyCFunction)(void (*)(void))line_stats, METH_FASTCALL,
     "line_stats(stopwords, text) -> (words, stopwords among them, ends_sentence, normalized or None), or None\n"
     "(see the source)."},
    {"screen_new", screen_new, METH_VARARGS, "screen_new(screen) -> a rules.Screen.as_tuple() for doc_lines (a capsule)."},
    {"doc_lines", doc_lines, METH_VARARGS,
     "doc_lines(stopwords, lines, screens, limits, block, comment_starts) -> (items, english, quiet, first, last,\n"
     "check):\n"
     "the non-blank lines'\n"
     "indices, or their line_stats when the screen keeps them from the rules, and the block pass (see the source)."},
    {"recurring_keys", recurring_keys, METH_VARARGS,
     "recurring_keys(stopwords, text) -> (keys, rest): the normalized non-prose lines of a text, and the\n"
     "lines left to Python (see the source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "dedupe's compiled kernels.", -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) {
    word_stats_latin1_init();
    alnum_lower_init();
    latin1_marks_init();
    return PyModule_Create(&module);
}
