pipeline {
    agent any
    stages {
        stage {  // <-- stage-name
            steps { echo 'x' }
        }
    }
}
