/* Calls of two and three meshcallbin pipelines through a real server. */
#include "call_fixture.h"

using namespace meshcall::test;

namespace
{

class Call : public ::testing::Test
{
protected:
	void SetUp() override
	{
		std::string err;
		ASSERT_TRUE(server.start({"--capacity", "3"}, &err)) << err;
	}
	std::unique_ptr<CallPeer> peer(PeerOptions o, const std::string &room = "call")
	{
		return std::make_unique<CallPeer>(server.ws_url(), room, std::move(o));
	}
	ServerProcess server;
};

TEST_F(Call, TwoPeersSeeEachOther)
{
	auto a = peer({"alice", kRed, 440});
	auto b = peer({"bob", kBlue, 880});
	ASSERT_TRUE(a->play());
	ASSERT_WAIT(!a->id().empty(), 5);
	ASSERT_TRUE(b->play());
	ASSERT_WAIT(!b->id().empty(), 5);
	ASSERT_WAIT(a->has_video_from(b->id()) && b->has_video_from(a->id()), 10);
	ASSERT_WAIT(a->tile_colour(b->id()) && a->tile_colour(b->id())->near(kBlue), 5);
	ASSERT_WAIT(b->tile_colour(a->id()) && b->tile_colour(a->id())->near(kRed), 5);
}

} // namespace

int main(int argc, char **argv)
{
	init_gstreamer(&argc, &argv);
	::testing::InitGoogleTest(&argc, argv);
	return RUN_ALL_TESTS();
}
