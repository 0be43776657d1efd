// SPDX-License-Identifier: LGPL-2.1-or-later
/* meshcall-loadtool: drives meshcall-server with many WebSocket clients from one
 * thread and measures what it held, how much it relayed and how fast.
 * See bench/README.md. Loopback only. */
#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

#include "json_scan.h"
#include "latency_histogram.h"
#include "load_options.h"
#include "proc_stats.h"
#include "ws_client.h"

namespace meshcall::bench
{
namespace
{

constexpr std::string_view kMarker = "bench:c=";

volatile std::sig_atomic_t g_stop = 0;

struct Client {
	WsConnection ws;
	int index = 0;
	bool inflight = false;
	bool welcomed = false;
	bool dirty = false;
	int peer_count = 0;
	std::array<std::array<char, 16>, kMaxRoomSize> peers{};
	unsigned next_peer = 0;
	unsigned mix_pos = 0;
	std::uint64_t seq = 0;
	std::array<std::uint64_t, kMaxRoomSize> last_seq_from{};
	std::uint64_t last_chat_seq = 0; /* the room's chat seq, seen by this member */
};

enum class Phase { Ramp, Settle, Measure, Drain, Closing };

class LoadRun final : public WsHandler
{
public:
	explicit LoadRun(const Options &o) : opt_(o)
	{
		clients_.reset(new Client[std::size_t(o.connections)]);
		for (int i = 0; i < o.connections; i++)
			clients_[std::size_t(i)].index = i;
		/* Smooth weighted round robin: spreads each type evenly over the cycle. */
		std::array<int, kRelayedTypes> current{};
		int total = 0;
		for (auto w : o.mix)
			total += int(w);
		for (int n = 0; n < total; n++) {
			int best = 0;
			for (int t = 0; t < kRelayedTypes; t++) {
				current[t] += int(o.mix[t]);
				if (current[t] > current[best])
					best = t;
			}
			current[best] -= total;
			cycle_.push_back(Relayed(best));
		}
		msg_.reserve(o.sdp_bytes + 256);
	}

	int run();

	void on_open(WsConnection &conn) override;
	void on_text(WsConnection &conn, std::string_view message, std::uint64_t now) override;
	void on_closed(WsConnection &conn, int code, std::string_view reason) override;

private:
	Client &client_of(WsConnection &conn) { return clients_[std::size_t(conn.tag())]; }
	ProcSample sample_server() const
	{
		return opt_.server_pid > 0 ? sample_proc(opt_.server_pid) : ProcSample{};
	}
	void poll_once(int timeout_ms);
	std::uint64_t received() const
	{
		std::uint64_t n = 0;
		for (auto r : recv_total_)
			n += r;
		return n;
	}
	std::uint64_t expected() const
	{
		return sent_[kOffer] + sent_[kAnswer] + sent_[kCandidate] + chat_deliveries_;
	}
	void start_client(Client &c);
	void send_due(std::uint64_t now);
	void send_one(Client &c, std::uint64_t now);
	void on_relayed(Client &c, Relayed type, std::string_view message, std::uint64_t now);
	void on_control(Client &c, std::string_view type, std::string_view message);
	bool links_complete() const;
	void progress(std::uint64_t now);
	void report(double measured_s);

	const Options &opt_;
	std::unique_ptr<Client[]> clients_;
	std::vector<Relayed> cycle_;
	std::vector<int> active_; /* clients that were welcomed when sending started */
	std::vector<Client *> dirty_;
	std::string msg_;
	int epfd_ = -1;
	sockaddr_storage addr_{};
	socklen_t addr_len_ = 0;
	Phase phase_ = Phase::Ramp;

	int started_ = 0, inflight_ = 0, opened_ = 0, welcomed_ = 0, open_now_ = 0,
	    open_at_end_ = 0;
	std::uint64_t measure_start_ = 0, scheduled_ = 0, cursor_ = 0;
	std::array<std::uint64_t, kRelayedTypes> sent_{}, recv_window_{}, recv_total_{};
	std::uint64_t drops_ = 0, lag_skips_ = 0, no_peer_skips_ = 0, closed_skips_ = 0;
	std::uint64_t no_marker_ = 0, misrouted_ = 0, reordered_ = 0, other_msgs_ = 0;
	/* Chat lines whose seq is not the room's previous one + 1: every member
	 * receives every line, so any other value is a line out of order or lost. */
	std::uint64_t chat_seq_breaks_ = 0;
	std::uint64_t max_backlog_ = 0, last_recv_ns_ = 0;
	/* Chat comes back to every member of the room, the author included. */
	std::uint64_t chat_deliveries_ = 0;
	std::array<LatencyHistogram, kRelayedTypes> latency_;
	std::map<std::string, std::uint64_t> errors_, closes_, failures_;
	ProcSample server_after_ramp_, server_start_, server_end_;
	ProcSample tool_start_, tool_end_;
	MachineSample machine_start_, machine_end_;
	std::uint64_t last_progress_ns_ = 0, last_progress_recv_ = 0;
};

void LoadRun::start_client(Client &c)
{
	const char *error = nullptr;
	started_++;
	sockaddr_in source{};
	const bool spread = addr_.ss_family == AF_INET && opt_.source_addresses > 1;
	if (spread) {
		source.sin_family = AF_INET;
		source.sin_addr.s_addr =
		    htonl(0x7f000001u + std::uint32_t(c.index % opt_.source_addresses));
	}
	if (!c.ws.start(epfd_, reinterpret_cast<const sockaddr *>(&addr_), addr_len_, opt_.server,
			std::uint64_t(c.index), &error,
			spread ? reinterpret_cast<const sockaddr *>(&source) : nullptr,
			spread ? sizeof(source) : 0)) {
		failures_[std::string("connect: ") + error]++;
		return;
	}
	c.inflight = true;
	inflight_++;
}

void LoadRun::on_open(WsConnection &conn)
{
	Client &c = client_of(conn);
	opened_++;
	open_now_++;
	msg_ = "{\"type\":\"join\",\"room\":\"bench-";
	msg_ += std::to_string(c.index / opt_.room_size);
	msg_ += "\",\"name\":\"p";
	msg_ += std::to_string(c.index % opt_.room_size);
	msg_ += "\"}";
	conn.send_text(msg_);
	conn.flush(*this);
}

void LoadRun::on_closed(WsConnection &conn, int code, std::string_view reason)
{
	Client &c = client_of(conn);
	if (c.inflight) {
		c.inflight = false;
		inflight_--;
	}
	if (code == 0) {
		failures_[std::string(reason)]++;
		return;
	}
	open_now_--;
	if (phase_ != Phase::Closing)
		closes_[std::to_string(code) + (reason.empty() ? "" : " " + std::string(reason))]++;
}

void LoadRun::on_text(WsConnection &conn, std::string_view message, std::uint64_t now)
{
	Client &c = client_of(conn);
	const std::string_view type = json::unquote(json::member(message, "type"));
	for (int t = 0; t < kRelayedTypes; t++) {
		if (type == kRelayedNames[t]) {
			on_relayed(c, Relayed(t), message, now);
			return;
		}
	}
	on_control(c, type, message);
}

void LoadRun::on_relayed(Client &c, Relayed type, std::string_view message, std::uint64_t now)
{
	recv_total_[type]++;
	last_recv_ns_ = now;
	if (phase_ == Phase::Measure)
		recv_window_[type]++;
	const std::size_t at = message.find(kMarker);
	if (at == std::string_view::npos) {
		no_marker_++;
		return;
	}
	/* bench:c=<sender index>:s=<sequence>:t=<CLOCK_MONOTONIC ns>: */
	const char *p = message.data() + at + kMarker.size();
	const char *e = message.data() + message.size();
	std::uint64_t sender = 0, seq = 0, sent_ns = 0;
	auto r = std::from_chars(p, e, sender);
	if (r.ec == std::errc() && e - r.ptr > 3 && r.ptr[1] == 's')
		r = std::from_chars(r.ptr + 3, e, seq);
	if (r.ec == std::errc() && e - r.ptr > 3 && r.ptr[1] == 't')
		r = std::from_chars(r.ptr + 3, e, sent_ns);
	if (r.ec != std::errc() || sent_ns == 0) {
		no_marker_++;
		return;
	}
	const auto room_size = std::uint64_t(opt_.room_size);
	if (sender / room_size != std::uint64_t(c.index) / room_size) {
		misrouted_++;
		return;
	}
	auto &last = c.last_seq_from[sender % room_size];
	if (seq <= last)
		reordered_++;
	last = seq;
	if (type == kChat) {
		const std::string_view field = json::member(message, "seq");
		std::uint64_t chat_seq = 0;
		auto [ptr, ec] =
		    std::from_chars(field.data(), field.data() + field.size(), chat_seq);
		if (ec != std::errc() || chat_seq != c.last_chat_seq + 1)
			chat_seq_breaks_++;
		c.last_chat_seq = chat_seq;
	}
	if (sent_ns >= measure_start_ && now >= sent_ns)
		latency_[type].record(now - sent_ns);
}

void LoadRun::on_control(Client &c, std::string_view type, std::string_view message)
{
	auto add_peer = [&c](std::string_view id) {
		if (id.size() != 16 || c.peer_count >= kMaxRoomSize)
			return;
		std::memcpy(c.peers[std::size_t(c.peer_count++)].data(), id.data(), 16);
	};
	if (type == "welcome") {
		if (!c.welcomed) {
			c.welcomed = true;
			welcomed_++;
		}
		if (c.inflight) {
			c.inflight = false;
			inflight_--;
		}
		json::for_each_element(json::member(message, "peers"), [&](std::string_view peer) {
			add_peer(json::unquote(json::member(peer, "id")));
		});
	} else if (type == "peer-joined") {
		add_peer(json::unquote(json::member(json::member(message, "peer"), "id")));
	} else if (type == "peer-left") {
		const std::string_view id = json::unquote(json::member(message, "id"));
		for (int i = 0; i < c.peer_count; i++) {
			if (std::string_view(c.peers[std::size_t(i)].data(), 16) == id) {
				c.peers[std::size_t(i)] = c.peers[std::size_t(--c.peer_count)];
				break;
			}
		}
	} else if (type == "error") {
		errors_[std::string(json::unquote(json::member(message, "code")))]++;
		if (c.inflight) { /* a refused join ends the wait for welcome */
			c.inflight = false;
			inflight_--;
		}
	} else {
		other_msgs_++;
	}
}

void LoadRun::send_one(Client &c, std::uint64_t now)
{
	Relayed type = cycle_[(c.mix_pos++ + unsigned(c.index)) % cycle_.size()];
	if (type != kChat && c.peer_count == 0) {
		no_peer_skips_++;
		return;
	}
	char marker[80];
	char *m = std::to_chars(marker, marker + 20, c.index).ptr;
	std::memcpy(m, ":s=", 3);
	m = std::to_chars(m + 3, m + 23, ++c.seq).ptr;
	std::memcpy(m, ":t=", 3);
	m = std::to_chars(m + 3, m + 23, now).ptr;
	*m++ = ':';
	const std::string_view mark(marker, std::size_t(m - marker));

	msg_ = "{\"type\":\"";
	msg_ += kRelayedNames[type];
	if (type != kChat) {
		msg_ += "\",\"to\":\"";
		msg_.append(c.peers[c.next_peer++ % unsigned(c.peer_count)].data(), 16);
	}
	switch (type) {
	case kOffer:
	case kAnswer: {
		msg_ += "\",\"sdp\":\"v=0 ";
		msg_ += kMarker;
		msg_ += mark;
		const std::size_t used = 4 + kMarker.size() + mark.size();
		if (opt_.sdp_bytes > used)
			msg_.append(opt_.sdp_bytes - used, 'a');
		msg_ += "\"}";
		break;
	}
	case kCandidate:
		msg_ += "\",\"candidate\":\"candidate:1 1 udp 2122260223 127.0.0.1 9 typ host ";
		msg_ += kMarker;
		msg_ += mark;
		msg_ += "\",\"sdpMLineIndex\":0,\"sdpMid\":\"0\"}";
		break;
	case kChat:
		msg_ += "\",\"text\":\"";
		msg_ += kMarker;
		msg_ += mark;
		msg_ += "\"}";
		break;
	default:
		break;
	}
	if (!c.ws.send_text(msg_)) {
		drops_++;
		return;
	}
	sent_[type]++;
	if (type == kChat)
		chat_deliveries_ += std::uint64_t(c.peer_count) + 1;
	if (!c.dirty) {
		c.dirty = true;
		dirty_.push_back(&c);
	}
}

/* Sends what the schedule says is due by now, spread round-robin over the
 * clients so each one sends at opt_.rate; a tool that falls more than 50 ms
 * behind skips (and counts) rather than bursting past the server's limits. */
void LoadRun::send_due(std::uint64_t now)
{
	const double per_s = opt_.rate * double(active_.size());
	const auto due = std::uint64_t(double(now - measure_start_) / 1e9 * per_s);
	if (due <= scheduled_ || active_.empty())
		return;
	std::uint64_t todo = due - scheduled_;
	const auto cap = std::max<std::uint64_t>(1, std::uint64_t(per_s * 0.05));
	if (todo > cap) {
		lag_skips_ += todo - cap;
		todo = cap;
	}
	scheduled_ = due;
	for (std::uint64_t i = 0; i < todo; i++) {
		Client &c = clients_[std::size_t(active_[cursor_++ % active_.size()])];
		if (c.ws.state() != WsConnection::State::Open) {
			closed_skips_++;
			continue;
		}
		send_one(c, now);
	}
	for (Client *c : dirty_) {
		c->dirty = false;
		max_backlog_ = std::max<std::uint64_t>(max_backlog_, c->ws.backlog());
		c->ws.flush(*this);
	}
	dirty_.clear();
}

void LoadRun::poll_once(int timeout_ms)
{
	std::array<epoll_event, 512> events;
	const int n = epoll_wait(epfd_, events.data(), int(events.size()), timeout_ms);
	for (int i = 0; i < n; i++) {
		Client &c = clients_[std::size_t(events[std::size_t(i)].data.u64)];
		c.ws.handle_events(events[std::size_t(i)].events, *this);
	}
}

/* True when every welcomed client knows every other welcomed client of its room. */
bool LoadRun::links_complete() const
{
	std::vector<int> per_room(std::size_t(opt_.connections / opt_.room_size + 1), 0);
	for (int i = 0; i < opt_.connections; i++)
		if (clients_[std::size_t(i)].welcomed)
			per_room[std::size_t(i / opt_.room_size)]++;
	for (int i = 0; i < opt_.connections; i++) {
		const Client &c = clients_[std::size_t(i)];
		if (c.welcomed && c.ws.state() == WsConnection::State::Open &&
		    c.peer_count < per_room[std::size_t(i / opt_.room_size)] - 1)
			return false;
	}
	return true;
}

void LoadRun::progress(std::uint64_t now)
{
	std::uint64_t recv = 0;
	for (auto n : recv_window_)
		recv += n;
	const double dt = double(now - last_progress_ns_) / 1e9;
	std::fprintf(stderr, "[%s %5.1fs] open %d  relayed in %.0f/s  drops %lu  lag-skips %lu\n",
		     opt_.label.c_str(), double(now - measure_start_) / 1e9, open_now_,
		     double(recv - last_progress_recv_) / dt, (unsigned long)drops_,
		     (unsigned long)lag_skips_);
	last_progress_ns_ = now;
	last_progress_recv_ = recv;
}

int LoadRun::run()
{
	if (!parse_loopback(opt_.server, addr_, addr_len_)) {
		std::fprintf(stderr,
			     "refusing %s: only 127.0.0.0/8 or [::1] literals with a port\n",
			     opt_.server.c_str());
		return 2;
	}
	epfd_ = epoll_create1(EPOLL_CLOEXEC);
	WsConnection::set_backlog_limit(opt_.max_backlog);
	WsConnection::set_quickack(opt_.quickack);
	const std::uint64_t t0 = monotonic_ns();
	auto seconds_since = [](std::uint64_t t) { return double(monotonic_ns() - t) / 1e9; };

	/* Ramp: at most max_inflight connections between connect() and welcome. */
	while (!g_stop && (started_ < opt_.connections || inflight_ > 0) &&
	       seconds_since(t0) < opt_.ramp_timeout) {
		while (started_ < opt_.connections && inflight_ < opt_.max_inflight)
			start_client(clients_[std::size_t(started_)]);
		poll_once(10);
	}
	const double ramp_s = seconds_since(t0);
	phase_ = Phase::Settle;
	const std::uint64_t settle_start = monotonic_ns();
	while (!g_stop && !links_complete() && seconds_since(settle_start) < opt_.settle_timeout)
		poll_once(10);
	std::fprintf(stderr, "[%s] ramp %.2fs: opened %d welcomed %d open %d\n", opt_.label.c_str(),
		     ramp_s, opened_, welcomed_, open_now_);
	server_after_ramp_ = sample_server();

	for (int i = 0; i < opt_.connections; i++)
		if (clients_[std::size_t(i)].welcomed &&
		    clients_[std::size_t(i)].ws.state() == WsConnection::State::Open)
			active_.push_back(i);
	phase_ = Phase::Measure;
	measure_start_ = last_progress_ns_ = monotonic_ns();
	server_start_ = sample_server();
	tool_start_ = sample_proc(0);
	machine_start_ = sample_machine();
	const auto measure_ns = std::uint64_t(opt_.duration * 1e9);
	std::uint64_t now = measure_start_;
	while (!g_stop && now - measure_start_ < measure_ns) {
		send_due(now);
		poll_once(1);
		now = monotonic_ns();
		if (opt_.report_every > 0 &&
		    double(now - last_progress_ns_) / 1e9 >= opt_.report_every)
			progress(now);
	}
	const double measured_s = double(now - measure_start_) / 1e9;
	tool_end_ = sample_proc(0);
	machine_end_ = sample_machine();
	server_end_ = sample_server();

	/* Drain: collect what is still in flight; stop once all of it came or
	 * nothing came for a second. */
	phase_ = Phase::Drain;
	const std::uint64_t drain_start = monotonic_ns();
	while (!g_stop && seconds_since(drain_start) < opt_.drain && received() < expected() &&
	       double(monotonic_ns() - std::max(last_recv_ns_, drain_start)) / 1e9 < 1.0)
		poll_once(10);
	const ProcSample rss_end = sample_server();
	server_end_.rss_kb = rss_end.rss_kb;
	server_end_.hwm_kb = rss_end.hwm_kb;
	open_at_end_ = open_now_;

	phase_ = Phase::Closing;
	for (int i = 0; i < opt_.connections; i++) {
		auto &ws = clients_[std::size_t(i)].ws;
		ws.send_close(1000);
		ws.flush(*this);
	}
	const std::uint64_t close_start = monotonic_ns();
	while (open_now_ > 0 && seconds_since(close_start) < 3)
		poll_once(10);
	for (int i = 0; i < opt_.connections; i++)
		clients_[std::size_t(i)].ws.abort(*this);
	close(epfd_);
	report(measured_s);
	return 0;
}

std::string json_counts(const std::map<std::string, std::uint64_t> &counts)
{
	std::string out = "{";
	for (const auto &[key, n] : counts) {
		if (out.size() > 1)
			out += ',';
		out += '"';
		for (char ch : key)
			if (ch != '"' && ch != '\\' && std::uint8_t(ch) >= 0x20)
				out += ch;
		out += "\":" + std::to_string(n);
	}
	return out + "}";
}

void print_counts(const char *title, const std::map<std::string, std::uint64_t> &counts)
{
	std::printf("%-22s", title);
	if (counts.empty())
		std::printf(" none");
	for (const auto &[key, n] : counts)
		std::printf(" %s=%lu", key.c_str(), (unsigned long)n);
	std::printf("\n");
}

void LoadRun::report(double measured_s)
{
	LatencyHistogram all;
	std::uint64_t recv = 0, sent = 0, recv_all = 0;
	for (int t = 0; t < kRelayedTypes; t++) {
		all.merge(latency_[t]);
		recv += recv_window_[t];
		recv_all += recv_total_[t];
		sent += sent_[t];
	}
	const std::uint64_t expected = this->expected();
	const auto ms = [](std::uint64_t ns) { return double(ns) / 1e6; };
	const auto pct = [measured_s](double a, double b) {
		return a >= 0 && b >= 0 ? (b - a) / measured_s * 100 : -1.0;
	};
	const double tool_cpu = pct(tool_start_.cpu_s, tool_end_.cpu_s);
	const double server_cpu = pct(server_start_.cpu_s, server_end_.cpu_s);
	const double machine_cpu = pct(machine_start_.busy_s, machine_end_.busy_s);
	/* Whatever else ran on the machine competed with the server for its cores. */
	const double other_cpu =
	    std::max(0.0, machine_cpu - tool_cpu - std::max(server_cpu, 0.0)); /* ±tick noise */
	const double server_wait = pct(server_start_.runq_wait_s, server_end_.runq_wait_s);
	const double tool_wait = pct(tool_start_.runq_wait_s, tool_end_.runq_wait_s);
	const WsCounters &io = WsConnection::counters();

	std::printf("== meshcall-loadtool %s: %d clients, rooms of %d, %.1f msg/s each, mix "
		    "%u:%u:%u:%u, %.1fs ==\n",
		    opt_.label.c_str(), opt_.connections, opt_.room_size, opt_.rate, opt_.mix[0],
		    opt_.mix[1], opt_.mix[2], opt_.mix[3], measured_s);
	std::printf("connections           opened %d  welcomed %d  open at end %d  (of %d)\n",
		    opened_, welcomed_, open_at_end_, opt_.connections);
	if (opt_.server_pid > 0)
		std::printf("server RSS            after ramp %.1f MB (HWM %.1f)  end %.1f MB (HWM "
			    "%.1f)\n",
			    server_after_ramp_.rss_kb / 1024.0, server_after_ramp_.hwm_kb / 1024.0,
			    server_end_.rss_kb / 1024.0, server_end_.hwm_kb / 1024.0);
	std::printf("sent                  %lu (%.0f/s)  offer %lu answer %lu candidate %lu chat "
		    "%lu\n",
		    (unsigned long)sent, double(sent) / measured_s, (unsigned long)sent_[kOffer],
		    (unsigned long)sent_[kAnswer], (unsigned long)sent_[kCandidate],
		    (unsigned long)sent_[kChat]);
	std::printf("relayed received      %.0f/s in window", double(recv) / measured_s);
	for (int t = 0; t < kRelayedTypes; t++)
		std::printf("  %s %.0f/s", kRelayedNames[t], double(recv_window_[t]) / measured_s);
	std::printf("\n                      %lu in all of %lu expected (%.3f%% missing)\n",
		    (unsigned long)recv_all, (unsigned long)expected,
		    expected ? 100.0 * (double(expected) - double(recv_all)) / double(expected)
			     : 0.0);
	std::printf("relay latency         p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  max %.3f ms  "
		    "mean %.3f ms  (n=%lu)\n",
		    ms(all.quantile(0.5)), ms(all.quantile(0.9)), ms(all.quantile(0.99)),
		    ms(all.max()), all.mean() / 1e6, (unsigned long)all.count());
	for (int t = 0; t < kRelayedTypes; t++)
		if (latency_[t].count())
			std::printf("  %-19s p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
				    kRelayedNames[t], ms(latency_[t].quantile(0.5)),
				    ms(latency_[t].quantile(0.99)), ms(latency_[t].max()));
	print_counts("errors received", errors_);
	print_counts("unexpected closes", closes_);
	print_counts("connect failures", failures_);
	std::printf("send side             drops %lu  lag-skips %lu  no-peer %lu  closed %lu  max "
		    "backlog %lu B\n",
		    (unsigned long)drops_, (unsigned long)lag_skips_, (unsigned long)no_peer_skips_,
		    (unsigned long)closed_skips_, (unsigned long)max_backlog_);
	std::printf("checks                reordered %lu  chat seq breaks %lu  misrouted %lu  no "
		    "marker %lu  other %lu  pings answered %lu\n",
		    (unsigned long)reordered_, (unsigned long)chat_seq_breaks_,
		    (unsigned long)misrouted_, (unsigned long)no_marker_,
		    (unsigned long)other_msgs_, (unsigned long)io.pings_answered);
	std::printf(
	    "cpu during window     tool %.0f%%  server %.0f%%  other processes %.0f%%  (100%% "
	    "= one core, %d cores)\n",
	    tool_cpu, server_cpu, other_cpu, machine_end_.cpus);
	std::printf("waiting for a cpu     server %.0f%%  tool %.0f%% of the window\n", server_wait,
		    tool_wait);
	if (other_cpu > 25 || server_wait > 10)
		std::printf(
		    "WARNING: the machine was busy with other work; latency figures are not "
		    "the server's alone\n");

	std::printf(
	    "{\"tool\":\"meshcall-loadtool\",\"label\":\"%s\",\"clients\":%d,\"room_size\":%d,"
	    "\"rate_per_client\":%g,\"duration_s\":%.3f,"
	    "\"connections\":{\"opened\":%d,\"welcomed\":%d,\"open_at_end\":%d},"
	    "\"server_kb\":{\"rss_after_ramp\":%ld,\"hwm_after_ramp\":%ld,\"rss_end\":%ld,"
	    "\"hwm_end\":%ld},"
	    "\"sent\":%lu,\"relayed_per_s\":{\"total\":%.1f,\"offer\":%.1f,\"answer\":%.1f,"
	    "\"candidate\":%.1f,\"chat\":%.1f},\"received\":%lu,\"expected\":%lu,"
	    "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
	    "\"errors\":%s,\"closes\":%s,\"connect_failures\":%s,"
	    "\"send\":{\"drops\":%lu,\"lag_skips\":%lu,\"max_backlog_bytes\":%lu},"
	    "\"reordered\":%lu,\"chat_seq_breaks\":%lu,\"misrouted\":%lu,\"cpu_pct\":{\"tool\":%."
	    "1f,\"server\":%.1f,"
	    "\"other\":%.1f,"
	    "\"server_runq_wait\":%.1f}}\n",
	    opt_.label.c_str(), opt_.connections, opt_.room_size, opt_.rate, measured_s, opened_,
	    welcomed_, open_at_end_, server_after_ramp_.rss_kb, server_after_ramp_.hwm_kb,
	    server_end_.rss_kb, server_end_.hwm_kb, (unsigned long)sent, double(recv) / measured_s,
	    double(recv_window_[kOffer]) / measured_s, double(recv_window_[kAnswer]) / measured_s,
	    double(recv_window_[kCandidate]) / measured_s, double(recv_window_[kChat]) / measured_s,
	    (unsigned long)recv_all, (unsigned long)expected, ms(all.quantile(0.5)),
	    ms(all.quantile(0.9)), ms(all.quantile(0.99)), ms(all.max()),
	    json_counts(errors_).c_str(), json_counts(closes_).c_str(),
	    json_counts(failures_).c_str(), (unsigned long)drops_, (unsigned long)lag_skips_,
	    (unsigned long)max_backlog_, (unsigned long)reordered_, (unsigned long)chat_seq_breaks_,
	    (unsigned long)misrouted_, tool_cpu, server_cpu, other_cpu, server_wait);
	std::fflush(stdout);
}

void on_signal(int)
{
	g_stop = 1;
}

} // namespace
} // namespace meshcall::bench

int main(int argc, char **argv)
{
	using namespace meshcall::bench;
	Options opt;
	if (!parse_args(argc, argv, opt)) {
		usage();
		return 2;
	}
	/* Our own soft limit up to our own hard limit; the system's is not ours to touch. */
	rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rlim_t(opt.connections) + 32 > rl.rlim_cur) {
		std::fprintf(stderr, "%d connections need more descriptors than the limit %lu\n",
			     opt.connections, (unsigned long)rl.rlim_cur);
		return 2;
	}
	std::signal(SIGPIPE, SIG_IGN);
	std::signal(SIGINT, on_signal);
	std::signal(SIGTERM, on_signal);
	LoadRun run(opt);
	return run.run();
}
