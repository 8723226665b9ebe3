/* acnsd.model._zonefast: the zone files zone exports give, read in one pass in C.

The rule this module owns: `columns(text, origin)` returns exactly what
acnsd.model.zonefile.parse returns for the same text and origin (dnspython's RRsets,
packed as dns/packed.py packs them, and the number of records), or None, and then the
Python readers read the file. It takes only the plainest form, the one zone exports have:

    owner TTL IN TYPE rdata

every line so (blank lines aside), words apart by spaces, the TTL in decimal seconds,
the class IN, the type one of A, AAAA, NS, CNAME, PTR, MX, SRV, TXT written in capitals,
each owner's lines together, and each RRset's (as dnspython does, an RRset of several
lines holds each rdata once, by its canonical form, with the least of their TTLs; a CNAME
of several lines is left to the Python readers). Owners must be in the zone, names without quotes, TXT
strings quoted without quotes inside or bare words. Anything else (tabs, comments,
directives, blank owners, parentheses, escapes, other types or classes, an owner met
again after others, an RRset's lines apart, a CNAME beside other data, a name
or label too long, an address inet_pton refuses) gives None.

The packed form of each line: the owner field (the owner's length and wire form as
spelled, or a zero octet when it is the previous line's owner), the type, class and TTL,
the size of the rdatas (the rdata with its rdlength), the rdlength and the rdata.
A text of more than 64 KiB is read with the GIL released (no Python object is touched
while it is read), so that a large file read during a reload does not stall the threads
that answer. Tested against the Python readers and dnspython
(tests/model/test_zonefile_fast.py).
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <string.h>

/* An RRset of more lines is left to the Python readers (the search for duplicates here is
   quadratic) */
#define MERGED 64

enum { T_A = 1, T_NS = 2, T_CNAME = 5, T_PTR = 12, T_MX = 15, T_TXT = 16, T_AAAA = 28,
       T_SRV = 33 };

typedef struct {
    unsigned char *data;
    Py_ssize_t len, cap;
} Buffer;

/* Room for `more` octets at the end of the buffer; -1 when there is no memory. (The raw
   allocator: it needs no GIL.) */
static int
reserve(Buffer *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap * 2 > b->len + more ? b->cap * 2 : b->len + more;
    unsigned char *data = PyMem_RawRealloc(b->data, cap);
    if (data == NULL)
        return -1;
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline unsigned char
lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The wire form of the name text s[0..n) (no escapes: this subset has none) into out
   (256 octets): "@" is the origin, a name without a final dot is relative to it. Its
   length, or -1 for a quote, an empty label, a label over 63 octets or a name over 255
   (dnspython refuses them, or reads quotes otherwise). */
static int
encode_name(const char *s, Py_ssize_t n, const unsigned char *origin, int origin_len,
            unsigned char *out)
{
    if (n == 1 && s[0] == '@') {
        memcpy(out, origin, origin_len);
        return origin_len;
    }
    if (n == 1 && s[0] == '.') {
        out[0] = 0;
        return 1;
    }
    int absolute = s[n - 1] == '.';
    Py_ssize_t end = absolute ? n - 1 : n, start = 0;
    int pos = 0;
    for (Py_ssize_t i = 0; i <= end; i++) {
        if (i < end && s[i] != '.') {
            if (s[i] == '"')
                return -1;
            continue;
        }
        Py_ssize_t length = i - start;
        if (length == 0 || length > 63 || pos + 1 + length > 255)
            return -1;
        out[pos++] = (unsigned char)length;
        memcpy(out + pos, s + start, length);
        pos += (int)length;
        start = i + 1;
    }
    const unsigned char *tail = absolute ? (const unsigned char *)"" : origin;
    int tail_len = absolute ? 1 : origin_len;
    if (pos + tail_len > 255)
        return -1;
    memcpy(out + pos, tail, tail_len);
    return pos + tail_len;
}

/* Whether the wire name `name` is the zone `zone` or below it (case-insensitively). */
static int
inside(const unsigned char *name, int name_len, const unsigned char *zone, int zone_len)
{
    int boundary = name_len - zone_len, pos = 0;
    if (boundary < 0)
        return 0;
    while (pos < boundary)
        pos += name[pos] + 1;
    if (pos != boundary)
        return 0;
    for (int i = 0; i < zone_len; i++)
        if (lower(name[boundary + i]) != lower(zone[i]))
            return 0;
    return 1;
}

/* A decimal number of at most `most`, or -1. */
static long long
decimal(const char *s, Py_ssize_t n, long long most)
{
    long long value = 0;
    if (n == 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        value = value * 10 + (s[i] - '0');
        if (value > most)
            return -1;
    }
    return value;
}

/* The next word of s[*pos..end), apart by spaces: its start and length (0 at the end). */
static Py_ssize_t
word(const char *s, Py_ssize_t *pos, Py_ssize_t end, const char **start)
{
    Py_ssize_t i = *pos;
    while (i < end && s[i] == ' ')
        i++;
    *start = s + i;
    Py_ssize_t from = i;
    while (i < end && s[i] != ' ')
        i++;
    *pos = i;
    return i - from;
}

static int
type_code(const char *s, Py_ssize_t n)
{
    switch (n) {
    case 1:
        return s[0] == 'A' ? T_A : 0;
    case 2:
        return memcmp(s, "NS", 2) == 0 ? T_NS : memcmp(s, "MX", 2) == 0 ? T_MX : 0;
    case 3:
        return memcmp(s, "PTR", 3) == 0 ? T_PTR : memcmp(s, "TXT", 3) == 0 ? T_TXT
               : memcmp(s, "SRV", 3) == 0 ? T_SRV : 0;
    case 4:
        return memcmp(s, "AAAA", 4) == 0 ? T_AAAA : 0;
    case 5:
        return memcmp(s, "CNAME", 5) == 0 ? T_CNAME : 0;
    }
    return 0;
}

/* A bit for each type, to find one met twice at an owner. */
static unsigned
type_bit(int rdtype)
{
    switch (rdtype) {
    case T_A: return 1;
    case T_NS: return 2;
    case T_CNAME: return 4;
    case T_PTR: return 8;
    case T_MX: return 16;
    case T_TXT: return 32;
    case T_AAAA: return 64;
    default: return 128;  /* T_SRV */
    }
}

/* The rdata of type `rdtype` written s[0..n) (no blanks at either end) into out (room
   for 2 n + 256 octets): its length, or -1 when it is outside the subset. */
static Py_ssize_t
encode_rdata(int rdtype, const char *s, Py_ssize_t n, const unsigned char *origin,
             int origin_len, unsigned char *out)
{
    char address[64];
    const char *w;
    Py_ssize_t pos = 0, length;
    long long values[3];
    int name_len;

    switch (rdtype) {
    case T_A:
    case T_AAAA:
        /* inet_pton takes exactly the addresses dnspython takes (tested) */
        if (n >= (Py_ssize_t)sizeof(address) || memchr(s, ' ', n) != NULL)
            return -1;
        memcpy(address, s, n);
        address[n] = 0;
        if (inet_pton(rdtype == T_A ? AF_INET : AF_INET6, address, out) != 1)
            return -1;
        return rdtype == T_A ? 4 : 16;
    case T_NS:
    case T_CNAME:
    case T_PTR:
        if (memchr(s, ' ', n) != NULL)
            return -1;
        return encode_name(s, n, origin, origin_len, out);
    case T_MX:
    case T_SRV: {
        int fields = rdtype == T_MX ? 1 : 3;
        for (int i = 0; i < fields; i++) {
            length = word(s, &pos, n, &w);
            values[i] = decimal(w, length, 0xFFFF);
            if (values[i] < 0)
                return -1;
            out[2 * i] = (unsigned char)(values[i] >> 8);
            out[2 * i + 1] = (unsigned char)values[i];
        }
        length = word(s, &pos, n, &w);
        if (length == 0 || pos != n)
            return -1;
        name_len = encode_name(w, length, origin, origin_len, out + 2 * fields);
        return name_len < 0 ? -1 : 2 * fields + name_len;
    }
    case T_TXT: {
        /* character strings: quoted (no quote inside) or bare words, apart by spaces */
        Py_ssize_t size = 0;
        while ((length = word(s, &pos, n, &w)) > 0) {
            const char *text = w;
            if (w[0] == '"') {
                const char *close = memchr(w + 1, '"', n - (w + 1 - s));
                if (close == NULL || (close + 1 < s + n && close[1] != ' '))
                    return -1;  /* not closed, or touching the next word */
                text = w + 1;
                length = close - text;
                pos = close + 1 - s;
            } else if (memchr(w, '"', length) != NULL) {
                return -1;
            }
            if (length > 255)
                return -1;
            out[size++] = (unsigned char)length;
            memcpy(out + size, text, length);
            size += length;
        }
        return size > 0 ? size : -1;
    }
    }
    return -1;
}

static inline void
put16(unsigned char *p, unsigned value)
{
    p[0] = (unsigned char)(value >> 8);
    p[1] = (unsigned char)value;
}

static inline unsigned long
get32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8
           | p[3];
}

/* Where the name starts in an rdata of the types whose rdatas hold one (after the fixed
   fields), -1 for the others: names lower-cased, rdatas are in their canonical form
   (RFC 4034 §6.2), by which an RRset holds an rdata once. */
static int
names_at(int rdtype)
{
    return rdtype == T_NS || rdtype == T_PTR ? 0 : rdtype == T_MX ? 2 : rdtype == T_SRV ? 6
           : -1;
}

/* Whether the rdatas laid from `at` to `end` (each after its rdlength) hold `rdata`
   (`length` octets) in canonical form: equal fields before `name_at`, and equal names
   but for case from there (-1: no name). */
static int
held(const unsigned char *at, const unsigned char *end, const unsigned char *rdata,
     Py_ssize_t length, int name_at)
{
    while (at < end) {
        Py_ssize_t other = (Py_ssize_t)at[0] << 8 | at[1];
        at += 2;
        if (other == length) {
            if (name_at < 0) {
                if (memcmp(at, rdata, length) == 0)
                    return 1;
            } else if (memcmp(at, rdata, name_at) == 0) {
                Py_ssize_t i = name_at;
                while (i < length && lower(at[i]) == lower(rdata[i]))
                    i++;
                if (i == length)
                    return 1;
            }
        }
        at += other;
    }
    return 0;
}

static inline void
put32(unsigned char *p, unsigned long value)
{
    p[0] = (unsigned char)(value >> 24);
    p[1] = (unsigned char)(value >> 16);
    p[2] = (unsigned char)(value >> 8);
    p[3] = (unsigned char)value;
}

/* Whether each character is one of the subset's (printable ASCII and newlines, but the
   ones that start comments, escapes and records over several lines). */
static int
plain(const char *s, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\n') || c > 0x7E || c == ';' || c == '\\' || c == '('
            || c == ')')
            return 0;
    }
    return 1;
}

/* The owners met: an open-addressed set of where each one's field starts in the output
   (its wire form as spelled there), by the hash of its lower-cased wire form. */
typedef struct {
    Py_ssize_t *at;  /* 1 + where the owner field starts; 0: an empty slot */
    size_t *hashes;
    size_t mask, count;
} Owners;

static size_t
hash_key(const unsigned char *key, int length)
{
    size_t hash = 14695981039346656037u;  /* FNV-1a */
    for (int i = 0; i < length; i++)
        hash = (hash ^ key[i]) * 1099511628211u;
    return hash;
}

/* Make room for one more owner; -1 when there is no memory. */
static int
owners_grow(Owners *owners)
{
    if (owners->at != NULL && owners->count * 2 < owners->mask + 1)
        return 0;
    size_t size = owners->mask ? 2 * (owners->mask + 1) : 64;
    Py_ssize_t *at = PyMem_RawCalloc(size, sizeof(Py_ssize_t));
    size_t *hashes = PyMem_RawMalloc(size * sizeof(size_t));
    if (at == NULL || hashes == NULL) {
        PyMem_RawFree(at);
        PyMem_RawFree(hashes);
        return -1;
    }
    for (size_t i = 0; owners->mask && i <= owners->mask; i++) {
        if (owners->at[i] == 0)
            continue;
        size_t j = owners->hashes[i] & (size - 1);
        while (at[j] != 0)
            j = (j + 1) & (size - 1);
        at[j] = owners->at[i];
        hashes[j] = owners->hashes[i];
    }
    PyMem_RawFree(owners->at);
    PyMem_RawFree(owners->hashes);
    owners->at = at;
    owners->hashes = hashes;
    owners->mask = size - 1;
    return 0;
}

/* Add the owner whose field starts at `field` in `out` (lower-cased: `key`, `length`
   octets); 1 when it was met before (in any case), 0 when added, -1 without memory. */
static int
owners_add(Owners *owners, const unsigned char *out, Py_ssize_t field,
           const unsigned char *key, int length)
{
    if (owners_grow(owners) < 0)
        return -1;
    size_t hash = hash_key(key, length), i = hash & owners->mask;
    for (; owners->at[i] != 0; i = (i + 1) & owners->mask) {
        const unsigned char *met = out + owners->at[i] - 1;
        if (owners->hashes[i] != hash || met[0] != length)
            continue;
        int k = 0;
        while (k < length && lower(met[1 + k]) == key[k])
            k++;
        if (k == length)
            return 1;
    }
    owners->at[i] = field + 1;
    owners->hashes[i] = hash;
    owners->count++;
    return 0;
}

enum { READ = 1, OUTSIDE = 0, NO_MEMORY = -1 };

/* The text s[0..n) packed into `out`, its records counted: READ; OUTSIDE when it is not
   in the form this module takes; NO_MEMORY. No Python object is touched (the GIL may be
   released): memory comes from the raw allocator. */
static int
read_zone(const char *s, Py_ssize_t n, const unsigned char *origin, int origin_len,
          Buffer *out, Py_ssize_t *records)
{
    Owners owners = {NULL, NULL, 0, 0};
    unsigned char name[256], key[256];
    const char *owner = NULL, *w;
    Py_ssize_t owner_n = 0, start = 0;
    unsigned owner_types = 0;  /* type_bit of the types met at the current owner */
    /* the RRset of the previous line: where its type starts in `out`, its type, its RRs */
    Py_ssize_t rrset_head = 0, rrset_rdatas = 0;
    int rrset_type = 0, status = READ;

    *records = 0;
    if (!plain(s, n))
        return OUTSIDE;
    if (reserve(out, n + n / 2 + 64) < 0)
        return NO_MEMORY;
    while (start < n) {
        const char *nl = memchr(s + start, '\n', n - start);
        Py_ssize_t end = nl ? nl - s : n, pos = start, line = start;
        start = end + 1;
        if (end == line)
            continue;  /* a blank line */
        if (s[line] == ' ' || s[line] == '$')
            goto outside;  /* a blank owner, a directive */
        while (end > line && s[end - 1] == ' ')
            end--;
        Py_ssize_t length = word(s, &pos, end, &w);
        const char *this_owner = w;
        Py_ssize_t this_n = length;
        length = word(s, &pos, end, &w);
        long long ttl = decimal(w, length, 0xFFFFFFFFLL);
        length = word(s, &pos, end, &w);
        if (ttl < 0 || length != 2 || w[0] != 'I' || w[1] != 'N')
            goto outside;
        length = word(s, &pos, end, &w);
        int rdtype = type_code(w, length);
        while (pos < end && s[pos] == ' ')
            pos++;
        if (rdtype == 0 || pos == end)
            goto outside;

        if (reserve(out, 256 + 14 + 2 * (end - pos) + 256) < 0)
            goto no_memory;
        int same_owner = owner != NULL && this_n == owner_n
                         && memcmp(this_owner, owner, owner_n) == 0;
        if (same_owner && rdtype == rrset_type) {  /* a further line of the RRset */
            if (rdtype == T_CNAME || rrset_rdatas >= MERGED)
                goto outside;  /* (the Python readers take these) */
            unsigned char *rdata = out->data + out->len + 2;
            Py_ssize_t rdlength = encode_rdata(rdtype, s + pos, end - pos, origin,
                                               origin_len, rdata);
            if (rdlength < 0)
                goto outside;
            unsigned char *head = out->data + rrset_head;
            if ((unsigned long)ttl < get32(head + 4))  /* the least TTL (dnspython's) */
                put32(head + 4, (unsigned long)ttl);
            if (!held(head + 12, out->data + out->len, rdata, rdlength, names_at(rdtype))) {
                put16(rdata - 2, (unsigned)rdlength);
                put32(head + 8, get32(head + 8) + 2 + (unsigned long)rdlength);
                out->len += 2 + rdlength;
                rrset_rdatas++;
                (*records)++;
            }
            continue;
        }
        if (same_owner) {
            out->data[out->len++] = 0;  /* the owner field of the previous line's owner */
        } else {
            int name_len = encode_name(this_owner, this_n, origin, origin_len, name);
            if (name_len < 0 || !inside(name, name_len, origin, origin_len))
                goto outside;
            for (int i = 0; i < name_len; i++)
                key[i] = lower(name[i]);
            out->data[out->len] = (unsigned char)name_len;
            memcpy(out->data + out->len + 1, name, name_len);
            int met = owners_add(&owners, out->data, out->len, key, name_len);
            if (met < 0)
                goto no_memory;
            if (met == 1)
                goto outside;  /* an owner met again, or spelled another way */
            out->len += 1 + name_len;
            owner = this_owner;
            owner_n = this_n;
            owner_types = 0;
        }
        unsigned bit = type_bit(rdtype);
        if (owner_types & bit || (owner_types && (bit | owner_types) & type_bit(T_CNAME)))
            goto outside;  /* an RRset's lines apart, a CNAME and other data */
        owner_types |= bit;

        unsigned char *head = out->data + out->len;
        Py_ssize_t rdlength = encode_rdata(rdtype, s + pos, end - pos, origin, origin_len,
                                           head + 14);
        if (rdlength < 0)
            goto outside;
        put16(head, rdtype);
        put16(head + 2, 1);  /* IN */
        put32(head + 4, (unsigned long)ttl);
        put32(head + 8, (unsigned long)rdlength + 2);
        put16(head + 12, (unsigned)rdlength);
        rrset_head = out->len;
        rrset_type = rdtype;
        rrset_rdatas = 1;
        out->len += 14 + rdlength;
        (*records)++;
    }
    if (*records == 0)
        goto outside;
    goto done;
outside:
    status = OUTSIDE;
    goto done;
no_memory:
    status = NO_MEMORY;
done:
    PyMem_RawFree(owners.at);
    PyMem_RawFree(owners.hashes);
    return status;
}

/* Texts of more octets are read with the GIL released (~0.3 ms of work and more): a large
   file read during a reload then does not hold up the threads that answer. A smaller one
   keeps it: taking it back may wait for another thread's turn (5 ms). */
#define GIL_FREE_SIZE 65536

static PyObject *
columns(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "columns(text: str, origin: bytes)");
        return NULL;
    }
    PyObject *text = args[0], *origin = args[1];
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), origin_len = PyBytes_GET_SIZE(origin);
    if (!PyUnicode_IS_ASCII(text) || origin_len < 1 || origin_len > 255)
        Py_RETURN_NONE;
    const char *s = (const char *)PyUnicode_DATA(text);
    const unsigned char *wire = (const unsigned char *)PyBytes_AS_STRING(origin);
    Buffer out = {NULL, 0, 0};
    Py_ssize_t records;
    int status;
    if (n > GIL_FREE_SIZE) {
        Py_INCREF(text);  /* (immutable, and kept alive while the GIL is released) */
        Py_INCREF(origin);
        Py_BEGIN_ALLOW_THREADS
        status = read_zone(s, n, wire, (int)origin_len, &out, &records);
        Py_END_ALLOW_THREADS
        Py_DECREF(text);
        Py_DECREF(origin);
    } else {
        status = read_zone(s, n, wire, (int)origin_len, &out, &records);
    }
    PyObject *result = NULL;
    if (status == NO_MEMORY) {
        PyErr_NoMemory();
    } else if (status == OUTSIDE) {
        result = Py_NewRef(Py_None);
    } else {
        PyObject *packed = PyBytes_FromStringAndSize((const char *)out.data, out.len);
        if (packed != NULL)
            result = Py_BuildValue("(Nn)", packed, records);
    }
    PyMem_RawFree(out.data);
    return result;
}

static PyMethodDef methods[] = {
    {"columns", (PyCFunction)(void (*)(void))columns, METH_FASTCALL,
     "columns(text, origin) -> (packed, records) or None: the RRsets of a zone file in "
     "the form zone exports have (see the module's source), `origin` the zone's name in "
     "wire form; None for any other file."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_zonefast",
    "The zone files zone exports give, read in one pass (acnsd.model.zonefile).", -1,
    methods,
};

PyMODINIT_FUNC
PyInit__zonefast(void)
{
    return PyModule_Create(&module);
}
