/* The null responder: the ceiling of the load generator on this host.
 *
 * It answers every UDP datagram of 12 octets or more with the datagram itself, QR set:
 * no parsing, no lookup, no records, one recvmmsg(2) and one sendmmsg(2) per batch. The
 * rate dnsperf reaches against it is what dnsperf and the kernel's loopback path can do
 * on this host with the same options; no DNS server can be much faster here (a median
 * above it is the spread between rounds).
 *
 * usage: null_responder ADDRESS PORT (IPv4); it runs until it is killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 128
#define SIZE 1232

static unsigned char buffers[BATCH][SIZE];
static struct sockaddr_in peers[BATCH];
static struct iovec parts[BATCH];
static struct mmsghdr messages[BATCH];

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]);
        return 2;
    }
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || inet_pton(AF_INET, argv[1], &address.sin_addr) != 1
            || bind(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        perror("null_responder");
        return 1;
    }
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            parts[i] = (struct iovec){.iov_base = buffers[i], .iov_len = SIZE};
            messages[i].msg_hdr = (struct msghdr){
                .msg_name = &peers[i], .msg_namelen = sizeof peers[i],
                .msg_iov = &parts[i], .msg_iovlen = 1};
        }
        int count = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
        int kept = 0;
        for (int i = 0; i < count; i++) {
            if (messages[i].msg_len < 12 || messages[i].msg_hdr.msg_flags & MSG_TRUNC)
                continue;
            parts[i].iov_len = messages[i].msg_len;
            buffers[i][2] |= 0x80; /* QR: this is a response */
            messages[kept++] = messages[i];
        }
        for (int sent = 0; sent < kept;) {
            int done = sendmmsg(fd, messages + sent, kept - sent, 0);
            if (done <= 0)
                break; /* dropped, as a full socket buffer would drop them */
            sent += done;
        }
    }
}
