print("sriov-controller")
