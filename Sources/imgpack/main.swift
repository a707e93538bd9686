print("imgpack: under construction")
