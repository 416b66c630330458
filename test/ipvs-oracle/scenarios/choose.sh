# In the guest the kernel has IPVS: --dataplane auto picks ipvs.
. /lib/oracle.sh
. /extra/lib.sh
GOVS_EXPECT_IPVS=1 /extra/dataplane.test -test.run 'TestChooseOnThisHost' -test.v > /tmp/choose.out 2>&1 && ok "auto picks ipvs in the guest" || fail "auto picks ipvs in the guest"
cat /tmp/choose.out
finish
