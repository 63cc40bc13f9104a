print("sriovctl")
