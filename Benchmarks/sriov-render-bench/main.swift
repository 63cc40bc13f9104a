print("sriov-render-bench")
